/// Raw weight blocks owned in memory rather than mapped from a file: matrices built by tests
/// and tools, and the engine's repacked copies (`WeightMatrix.interleavedForInt8`).
package final class WeightBytes: @unchecked Sendable {
    // @unchecked Sendable invariant: the bytes are written once, in `init`, then only read.
    package let pointer: UnsafeMutableRawPointer
    package let count: Int

    package convenience init(_ bytes: [UInt8]) {
        self.init(byteCount: bytes.count) { pointer in
            bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        }
    }

    /// `byteCount` bytes (64-byte aligned) written by `fill`.
    package init(byteCount: Int, fill: (UnsafeMutableRawPointer) -> Void) {
        count = byteCount
        pointer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
        fill(pointer)
    }

    deinit { pointer.deallocate() }
}
