import CX86

/// Q4_K: 144 bytes: `d`, `dmin` (f16), 12 bytes of 6-bit scales and minimums for 8 sub-blocks of
/// 32, 128 bytes of nibbles (sub-blocks 2k and 2k+1 in the low and high nibbles of 32 bytes).
/// Weight = `d · sc_j · q − dmin · m_j`.
enum Q4_KBlock {
    struct Block {
        let start: UnsafeRawPointer
        /// sc_0…sc_7 as 16-bit values.
        let scales: __m128i
        /// m_0, m_0, m_1, m_1, … as 16-bit values: one per 16-weight group.
        let mins: __m256i
    }

    static var blockBytes: Int { 144 }

    /// Decodes the scales of superblock `index` of the row at `row`.
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
                     scales: _mm_cvtepu8_epi16(scales),
                     mins: _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins, mins)))
    }

    /// The offset `−dmin·m_j` of each 16-weight group.
    @inline(__always)
    static func offsets(_ block: Block) -> __m512 {
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(block.mins)), _mm512_set1_ps(-Dequantize.half(block.start, 2)))
    }

    /// `d` of the superblock.
    @inline(__always)
    static func scaleFactor(_ block: Block) -> Float { Dequantize.half(block.start, 0) }
}
