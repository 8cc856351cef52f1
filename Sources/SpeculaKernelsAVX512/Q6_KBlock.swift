#if arch(x86_64)
import CX86
import SpeculaKernels

/// Q6_K: 210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed 8-bit scales (one
/// per 16 weights), `d` (f16). Weight = `d · sc_g · (q − 32)`. In each 128-weight half, weight w's
/// low nibble is in byte w mod 64 of the half's 64 (high nibble from w = 64 on) and its bit pair
/// in byte w mod 32 of the half's 32, bits 2·(w/32).
///
/// Vector m is piece m (weights 4m…4m+3) of each 16-weight group: lane g is group g.
enum Q6_KBlock: SuperblockLayout {
    struct Block {
        let start: UnsafeRawPointer
        /// The 128 bytes of low nibbles, halves 0 and 1.
        let nibbles: (__m512i, __m512i)
        /// The 64 bytes of bit pairs.
        let pairs: __m512i
        /// d · sc_g for each group g.
        let scales: __m512
    }

    static var blockBytes: Int { 210 }
    static var pieceBytes: Int { 4 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block {
        let block = row + index * blockBytes
        let sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((block + 192).assumingMemoryBound(to: __m128i_u.self)))
        return Block(start: block,
                     nibbles: (_mm512_loadu_si512(block), _mm512_loadu_si512(block + 64)),
                     pairs: _mm512_loadu_si512(block + 128),
                     scales: _mm512_mul_ps(_mm512_cvtepi32_ps(sc), _mm512_set1_ps(Dequantize.half(block + 208, 0))))
    }

    @inline(__always)
    static func codes(_ block: Block, _ m: Int) -> __m512i {
        // Lane g = 8h + l (half h, group l of the half), weights w = 16l + 4m…: nibble dword
        // 16h + 4(l mod 4) + m shifted by 4·(l/4); pair dword 8h + 4(l mod 2) + m, pair l/2
        // rotated to bits 4–5.
        let q = Int32(m)
        let nibblePick = _mm512_add_epi32(_mm512_set_epi32(28, 24, 20, 16, 28, 24, 20, 16, 12, 8, 4, 0, 12, 8, 4, 0), _mm512_set1_epi32(q))
        let nibbleShift = _mm512_set_epi32(4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0)
        let low = _mm512_srlv_epi32(_mm512_permutex2var_epi32(block.nibbles.0, nibblePick, block.nibbles.1), nibbleShift)
        let pairPick = _mm512_add_epi32(_mm512_set_epi32(12, 8, 12, 8, 12, 8, 12, 8, 4, 0, 4, 0, 4, 0, 4, 0), _mm512_set1_epi32(q))
        let pairRotation = _mm512_set_epi32(30, 30, 0, 0, 2, 2, 4, 4, 30, 30, 0, 0, 2, 2, 4, 4)
        let high = _mm512_rolv_epi32(_mm512_permutexvar_epi32(pairPick, block.pairs), pairRotation)
        return _mm512_or_si512(_mm512_and_si512(low, _mm512_set1_epi8(0x0F)), _mm512_and_si512(high, _mm512_set1_epi8(0x30)))
    }

    @inline(__always)
    static func laneScales(_ block: Block) -> __m512 { block.scales }

    @inline(__always)
    static func offsets(_ block: Block) -> __m512 { _mm512_mul_ps(block.scales, _mm512_set1_ps(-32)) }
}
#endif
