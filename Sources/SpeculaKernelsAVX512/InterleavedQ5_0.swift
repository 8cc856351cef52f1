#if arch(x86_64)
import CX86

/// Q5_0 rows rewritten sixteen at a time with a row per 32-bit lane (`InterleavedLayout`; see
/// `InterleavedQ4_K` for why). A superblock is one 32-weight block of each of the 16 rows, the
/// same number of bytes as in the file:
///
/// | bytes | what |
/// |---|---|
/// | 0–31 | `d` of rows 0…15 (f16, as in the file) |
/// | 32–287 | four vectors p = 0…3: byte 4r + k holds the low four bits of row r's code 4p + k (low nibble) and 4p + 16 + k (high nibble): the file's bytes as they are |
/// | 288–351 | byte 4r + k holds the fifth bit of row r's code 4c + k at bit c, c = 0…7 |
///
/// Weight = `d · (q − 16)`, as in the file.
enum InterleavedQ5_0: BlockInterleavedLayout {
    static var fileBlockBytes: Int { 22 }
    static var groupBytes: Int { 352 }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        let nibble = _mm512_set1_epi8(0x0F), fifth = _mm512_set1_epi8(0x10)
        let high = _mm512_loadu_si512(block + 288)
        // Bit c of each byte of `high` moved to bit 4 (16-bit shifts: what crosses from the
        // neighbouring byte is masked off).
        let fifths = (_mm512_slli_epi16(high, 4), _mm512_slli_epi16(high, 3), _mm512_slli_epi16(high, 2), _mm512_slli_epi16(high, 1),
                      high, _mm512_srli_epi16(high, 1), _mm512_srli_epi16(high, 2), _mm512_srli_epi16(high, 3))
        for p in 0..<4 {
            let both = _mm512_loadu_si512(block + 32 + 64 * p)
            let (low, upper) = switch p {
            case 0: (fifths.0, fifths.4)
            case 1: (fifths.1, fifths.5)
            case 2: (fifths.2, fifths.6)
            default: (fifths.3, fifths.7)
            }
            body(_mm512_or_si512(_mm512_and_si512(both, nibble), _mm512_and_si512(low, fifth)), p)
            body(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(both, 4), nibble), _mm512_and_si512(upper, fifth)), p + 4)
        }
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Void, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        biased(halves(block), by: 16)
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        InterleavedNibbles.store(row: r, from: block + 6, into: out + 32)
        let fifthBits = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)  // bit i: code i's fifth bit
        var high: UInt32 = 0
        for k in 0..<4 {
            for c in 0..<8 { high |= ((fifthBits >> UInt32(4 * c + k)) & 1) << UInt32(8 * k + c) }
        }
        out.storeBytes(of: high, toByteOffset: 288 + 4 * r, as: UInt32.self)
    }
}
#endif
