#if arch(x86_64)
import CX86
import SpeculaKernels

/// Q4_K: 144 bytes: `d`, `dmin` (f16), 12 bytes of 6-bit scales and minimums for 8 sub-blocks of
/// 32, 128 bytes of nibbles: four rows of 32 bytes, row k holding sub-block 2k in its low nibbles
/// and 2k+1 in its high. Weight = `d · sc_j · q − dmin · m_j`.
///
/// Vector m is piece m (bytes 8m…8m+7) of every row, low then high nibbles: qword j is sub-block
/// j's weights 8m…8m+7.
enum Q4_KBlock: SuperblockLayout {
    struct Block {
        let start: UnsafeRawPointer
        /// Nibble rows 0–1 and 2–3.
        let nibbles: (__m512i, __m512i)
        /// sc_0…sc_7 as 16-bit values.
        let scales: __m128i
        /// m_0, m_0, m_1, m_1, … as 16-bit values: one per 16-weight group.
        let mins: __m256i
    }

    static var blockBytes: Int { 144 }
    static var pieceBytes: Int { 8 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block {
        let block = row + index * blockBytes
        // 6-bit scales and minimums into bytes sc_0…sc_7, m_0…m_7: j < 4 in the low bits of bytes
        // j and j+4; j ≥ 4 a nibble of byte j+4 plus the top two bits of bytes j−4 and j.
        let u0 = (block + 4).loadUnaligned(as: UInt32.self), u1 = (block + 8).loadUnaligned(as: UInt32.self)
        let u2 = (block + 12).loadUnaligned(as: UInt32.self)
        let sixBits: UInt32 = 0x3F3F_3F3F, nibbles: UInt32 = 0x0F0F_0F0F, twoBits: UInt32 = 0x0303_0303
        let scales = _mm_set_epi32(0, 0, Int32(bitPattern: (u2 & nibbles) | (((u0 >> 6) & twoBits) << 4)), Int32(bitPattern: u0 & sixBits))
        let mins = _mm_set_epi32(0, 0, Int32(bitPattern: ((u2 >> 4) & nibbles) | (((u1 >> 6) & twoBits) << 4)), Int32(bitPattern: u1 & sixBits))
        return Block(start: block,
                     nibbles: (_mm512_loadu_si512(block + 16), _mm512_loadu_si512(block + 80)),
                     scales: _mm_cvtepu8_epi16(scales),
                     mins: _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins, mins)))
    }

    @inline(__always)
    static func codes(_ block: Block, _ m: Int) -> __m512i {
        // Qwords 2k and 2k+1: piece m of row k (qword 4k + m of the 128 bytes), low and high nibbles.
        let q = Int64(m)
        let pick = _mm512_set_epi64(12 + q, 12 + q, 8 + q, 8 + q, 4 + q, 4 + q, q, q)
        let pieces = _mm512_permutex2var_epi64(block.nibbles.0, pick, block.nibbles.1)
        return _mm512_and_si512(_mm512_srlv_epi64(pieces, _mm512_set_epi64(4, 0, 4, 0, 4, 0, 4, 0)), _mm512_set1_epi8(0x0F))
    }

    @inline(__always)
    static func laneScales(_ block: Block) -> __m512 {
        // Lane i: sc_{i/2} (word 8 of the widened scales is zero).
        let pick = _mm512_set_epi16(8, 7, 8, 7, 8, 6, 8, 6, 8, 5, 8, 5, 8, 4, 8, 4, 8, 3, 8, 3, 8, 2, 8, 2, 8, 1, 8, 1, 8, 0, 8, 0)
        let scales = _mm512_permutexvar_epi16(pick, _mm512_zextsi128_si512(block.scales))
        return _mm512_mul_ps(_mm512_cvtepi32_ps(scales), _mm512_set1_ps(Dequantize.half(block.start, 0)))
    }

    @inline(__always)
    static func offsets(_ block: Block) -> __m512 {
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(block.mins)), _mm512_set1_ps(-Dequantize.half(block.start, 2)))
    }
}
#endif
