#if arch(x86_64)
import CX86

/// Q8_0 rows rewritten sixteen at a time with a row per 32-bit lane (`InterleavedLayout`; see
/// `InterleavedQ4_K` for why). A superblock is one 32-weight block of each of the 16 rows, the
/// same number of bytes as in the file:
///
/// | bytes | what |
/// |---|---|
/// | 0–31 | `d` of rows 0…15 (f16, as in the file) |
/// | 32–543 | eight vectors c = 0…7: byte 4r + k holds row r's code 4c + k plus 128 (unsigned, for `vpdpbusd`) |
///
/// Weight = `d · (u − 128)` for the stored byte u, the file's `d · q`.
enum InterleavedQ8_0: BlockInterleavedLayout {
    static var fileBlockBytes: Int { 34 }
    static var groupBytes: Int { 544 }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        for c in 0..<8 { body(_mm512_loadu_si512(block + 32 + 64 * c), c) }
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Void, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        biased(halves(block), by: 128)
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        for c in 0..<8 {
            let codes = block.loadUnaligned(fromByteOffset: 2 + 4 * c, as: UInt32.self) ^ 0x8080_8080
            out.storeBytes(of: codes, toByteOffset: 32 + 64 * c + 4 * r, as: UInt32.self)
        }
    }
}
#endif
