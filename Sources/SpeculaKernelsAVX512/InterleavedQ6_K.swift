#if arch(x86_64)
import CX86

/// Q6_K rows rewritten sixteen at a time with a row per 32-bit lane (`InterleavedLayout`; see
/// `InterleavedQ4_K` for why). The same bytes as the file's 16 blocks, rearranged.
///
/// Superblock s of group g is `groupBytes` at `(g · superblocks + s) · groupBytes`:
///
/// | bytes | what |
/// |---|---|
/// | 0–31 | `d` of rows 0…15 (f16, as in the file) |
/// | 32–287 | `sc` of sub-block j (16 weights) for rows 0…15 at 32 + 16j (signed bytes) |
/// | 288–3359 | codes of sub-block j at 288 + 192j: three vectors; byte 4r + k of vector h < 2 holds the low four bits of row r's code 4h + k (low nibble) and 4h + 8 + k (high nibble); of vector 2, the top two bits of codes 4c + k at bits 2c, c = 0…3 |
///
/// Weight `i` of sub-block `j` of row r is `d_r · sc_rj · (q − 32)`, as in the file.
enum InterleavedQ6_K: InterleavedLayout {
    static var groupBytes: Int { 3360 }
    static var fileBlockBytes: Int { 210 }
    static var superblockSpan: Int { 256 }
    static var subBlockSpan: Int { 16 }
    static let scalesOffset = 32
    static let codesOffset = 288

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer) -> __m512 {
        halves(block)
    }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        let codes = block + codesOffset + 192 * j
        let low0 = _mm512_loadu_si512(codes), low1 = _mm512_loadu_si512(codes + 64), high = _mm512_loadu_si512(codes + 128)
        let nibble = _mm512_set1_epi8(0x0F), pair = _mm512_set1_epi8(0x30)
        // The top bits of code c moved to bits 4–5 of their byte (16-bit shifts: what crosses
        // from the neighbouring byte is masked off).
        body(_mm512_or_si512(_mm512_and_si512(low0, nibble), _mm512_and_si512(_mm512_slli_epi16(high, 4), pair)), 0)
        body(_mm512_or_si512(_mm512_and_si512(low1, nibble), _mm512_and_si512(_mm512_slli_epi16(high, 2), pair)), 1)
        body(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low0, 4), nibble), _mm512_and_si512(high, pair)), 2)
        body(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low1, 4), nibble), _mm512_and_si512(_mm512_srli_epi16(high, 2), pair)), 3)
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ d: __m512, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        biased(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes(block + scalesOffset + 16 * j))), d), by: 32)
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(fromByteOffset: 208, as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        for j in 0..<16 {
            out.storeBytes(of: block.load(fromByteOffset: 192 + j, as: UInt8.self), toByteOffset: scalesOffset + 16 * j + r, as: UInt8.self)
            // Codes 16j + 4c … 16j + 4c + 3 of the file (see `Q6_KBlock`), four at a time.
            var low = SIMD4<UInt32>(), high = SIMD4<UInt32>()
            for c in 0..<4 {
                let i = 16 * j + 4 * c, half = i / 128, quarter = (i % 128) / 32, l = i % 32
                let nibbles = block.loadUnaligned(fromByteOffset: 64 * half + 32 * (quarter % 2) + l, as: UInt32.self)
                low[c] = (nibbles >> UInt32(quarter < 2 ? 0 : 4)) & 0x0F0F_0F0F
                high[c] = (block.loadUnaligned(fromByteOffset: 128 + 32 * half + l, as: UInt32.self) >> UInt32(2 * quarter)) & 0x0303_0303
            }
            let codes = codesOffset + 192 * j + 4 * r
            out.storeBytes(of: low[0] | low[2] << 4, toByteOffset: codes, as: UInt32.self)
            out.storeBytes(of: low[1] | low[3] << 4, toByteOffset: codes + 64, as: UInt32.self)
            out.storeBytes(of: high[0] | high[1] << 2 | high[2] << 4 | high[3] << 6, toByteOffset: codes + 128, as: UInt32.self)
        }
    }
}
#endif
