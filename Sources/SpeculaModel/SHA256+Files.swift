package import Crypto
package import Foundation

extension Sequence<UInt8> {
    /// The bytes in lowercase hex (a digest as `sha256sum` prints it).
    package var hex: String { map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

extension SHA256 {
    /// The SHA-256 of a file, read in 4 MiB chunks (model files are gigabytes).
    package static func hex(ofFile file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().hex
    }
}
