import CX86

/// A K-quant format (256 weights per superblock, integer sub-block scales) as the integer kernel
/// of `SuperblockDot` reads it (Q6_K; Q4_K has a kernel of its own, `Q4_KDot`): 4 chunks of 64 unsigned codes, each with 16-bit scales per code
/// pair, and the superblock's offsets as one float per 16 weights, to multiply the activations'
/// scaled 16-value sums.
///
/// The weight of code q in 16-weight group g is `scaleFactor · s_g · q + o_g`, with `s_g` from
/// `scales` and `o_g` from `offsets` (llama.cpp's formulas, written anew).
protocol SuperblockLayout {
    associatedtype Block
    /// Bytes of one superblock.
    static var blockBytes: Int { get }
    /// Decodes the scales of superblock `index` of the row at `row`.
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block
    /// The 64 unsigned codes of chunk `k` (0..<4).
    static func codes(_ block: Block, _ k: Int) -> __m512i
    /// Chunk `k`'s integer scale for each of the 32 code pairs that `vpmaddubsw` produces.
    static func scales(_ block: Block, _ k: Int) -> __m512i
    /// The offset `o_g` of each 16-weight group (`−32·d·sc_g` for Q6_K).
    static func offsets(_ block: Block) -> __m512
    /// `d` of the superblock.
    static func scaleFactor(_ block: Block) -> Float
}

/// Q6_K: 210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 signed 8-bit scales (one
/// per 16 weights), `d` (f16). Weight = `d · sc_g · (q − 32)`. Each 128-weight half has 64 bytes of
/// low nibbles and 32 of bit pairs; chunk k is half k/2, its low (k even) or high nibbles with bit
/// pairs 0/1 or 2/3.
enum Q6_KBlock: SuperblockLayout {
    struct Block {
        let start: UnsafeRawPointer
        /// sc_0…sc_15 as 16-bit values.
        let scales: __m256i
    }

    static var blockBytes: Int { 210 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block {
        let block = row + index * blockBytes
        return Block(start: block, scales: _mm256_cvtepi8_epi16(_mm_loadu_si128((block + 192).assumingMemoryBound(to: __m128i_u.self))))
    }

    @inline(__always)
    static func codes(_ block: Block, _ k: Int) -> __m512i {
        let half = k >> 1, upper = k & 1
        let low = _mm512_loadu_si512(block.start + 64 * half)
        let lowBits = _mm512_and_si512(_mm512_srl_epi16(low, _mm_cvtsi32_si128(Int32(4 * upper))), ChunkParts.lowNibbles)
        let high = _mm512_broadcast_i64x4(_mm256_loadu_si256((block.start + 128 + 32 * half).assumingMemoryBound(to: __m256i_u.self)))
        let shift = Int64(4 * upper) * 0x0001_0001_0001_0001, shift2 = shift + 2 * 0x0001_0001_0001_0001
        let highShifted = _mm512_srlv_epi16(high, _mm512_set_epi64(shift2, shift2, shift2, shift2, shift, shift, shift, shift))
        return _mm512_or_si512(lowBits, _mm512_slli_epi16(_mm512_and_si512(highShifted, _mm512_set1_epi8(3)), 4))
    }

    @inline(__always)
    static func scales(_ block: Block, _ k: Int) -> __m512i {
        // Pairs 8i…8i+7 come from group 4k + i.
        let base = Int16(4 * k)
        let pick = _mm512_add_epi16(_mm512_set_epi64(0x0003_0003_0003_0003, 0x0003_0003_0003_0003, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002,
                                                     0x0001_0001_0001_0001, 0x0001_0001_0001_0001, 0, 0), _mm512_set1_epi16(base))
        return _mm512_permutexvar_epi16(pick, _mm512_castsi256_si512(block.scales))
    }

    @inline(__always)
    static func offsets(_ block: Block) -> __m512 {
        _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(block.scales)), _mm512_set1_ps(-32 * Dequantize.half(block.start, 208)))
    }

    @inline(__always)
    static func scaleFactor(_ block: Block) -> Float { Dequantize.half(block.start, 208) }
}
