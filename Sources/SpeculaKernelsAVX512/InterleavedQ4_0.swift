#if arch(x86_64)
import CX86

/// Q4_0 rows rewritten sixteen at a time with a row per 32-bit lane (`InterleavedLayout`; see
/// `InterleavedQ4_K` for why). A superblock is one 32-weight block of each of the 16 rows, the
/// same number of bytes as in the file: `d` of rows 0…15 (f16, 32 bytes), then the rows' nibbles
/// as four vectors (`InterleavedNibbles`). Weight = `d · (q − 8)`, as in the file.
enum InterleavedQ4_0: BlockInterleavedLayout {
    static var fileBlockBytes: Int { 18 }
    static var groupBytes: Int { 288 }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        InterleavedNibbles.forEachCodes(block + 32, body)
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Void, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        biased(halves(block), by: 8)
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        InterleavedNibbles.store(row: r, from: block + 2, into: out + 32)
    }
}
#endif
