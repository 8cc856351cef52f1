package import SpeculaKernels
/// Why a GGUF file could not be used; every case names the file.
package enum GGUFError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notGGUF(path: String)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, at: Int, needed: Int, size: Int)
    case malformed(path: String, reason: String)
    case unsupportedType(tensor: String, type: UInt32, path: String)
    case missingMetadata(key: String, path: String)
    case missingTensor(name: String, path: String)
    case unsupportedArchitecture(String, path: String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int], path: String)

    package var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .notGGUF(let path): "\(path) is not a GGUF file (bad magic)"
        case .unsupportedVersion(let path, let version): "\(path): GGUF version \(version) is not supported (2 or 3)"
        case .truncated(let path, let at, let needed, let size): "\(path) is truncated: needs \(needed) bytes at offset \(at), file has \(size)"
        case .malformed(let path, let reason): "\(path) is malformed: \(reason)"
        case .unsupportedType(let tensor, let type, let path): "\(path): tensor \(tensor) has unsupported type \(GGMLType(rawValue: type).map { "\($0)" } ?? "#\(type)")"
        case .missingMetadata(let key, let path): "\(path): metadata key \(key) is missing"
        case .missingTensor(let name, let path): "\(path): tensor \(name) is missing"
        case .unsupportedArchitecture(let arch, let path): "\(path): architecture '\(arch)' is not supported (llama, qwen2)"
        case .shapeMismatch(let tensor, let expected, let found, let path): "\(path): tensor \(tensor) has shape \(found), expected \(expected)"
        }
    }
}
