#if arch(x86_64)
import CX86

/// Q4_1 rows rewritten sixteen at a time with a row per 32-bit lane (`InterleavedLayout`; see
/// `InterleavedQ4_K` for why). A superblock is one 32-weight block of each of the 16 rows, the
/// same number of bytes as in the file: `d` of rows 0…15 (f16, 32 bytes), their `m` (32 bytes),
/// then the rows' nibbles as four vectors (`InterleavedNibbles`). Weight = `d · q + m`, as in
/// the file.
enum InterleavedQ4_1: BlockInterleavedLayout {
    static var fileBlockBytes: Int { 20 }
    static var groupBytes: Int { 320 }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        InterleavedNibbles.forEachCodes(block + 64, body)
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Void, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        (halves(block), halves(block + 32))
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        out.storeBytes(of: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self), toByteOffset: 32 + 2 * r, as: UInt16.self)
        InterleavedNibbles.store(row: r, from: block + 4, into: out + 64)
    }
}
#endif
