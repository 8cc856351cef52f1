import CX86

/// 64 weights of a quantized row, unpacked in registers for `vpdpbusd`: unsigned 8-bit codes and,
/// per 32-bit lane (4 weights), a scale and an offset such that `weight = scale · code + offset`.
///
/// Codes are unsigned because `vpdpbusd` multiplies unsigned by signed bytes; the offset carries
/// what that shift removed (`−8·d` for Q4_0, the minimum for Q4_1 and Q4_K, `+128` codes for Q8_0).
struct QuantizedChunk {
    var codes: __m512i
    var scales: __m512
    var offsets: __m512
}

/// A ggml block layout that the integer kernels read 64 weights at a time (llama.cpp's
/// `ggml-quants.c` formulas, written anew). Rows must hold a whole number of chunks.
///
/// A layout's `Block` is what is decoded once per `chunksPerBlock` chunks (a K-quant's 256
/// weights share their scales), so the per-chunk work is only unpacking codes.
protocol ChunkLayout {
    associatedtype Block
    /// Chunks per decoded block: 1 for the 32-weight formats (two blocks per chunk), 4 for K-quants.
    static var chunksPerBlock: Int { get }
    /// Decodes block `index` of the row at `row`.
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block
    /// Unpacks chunk `index` (`0 ..< chunksPerBlock`) of a decoded block.
    static func chunk(_ block: Block, _ index: Int) -> QuantizedChunk
}

/// The 32-weight formats decode everything per chunk: a chunk's "block" is its two blocks' address.
protocol PairedBlockLayout: ChunkLayout where Block == UnsafeRawPointer {
    /// Bytes of one 32-weight block.
    static var blockBytes: Int { get }
    /// Unpacks the 64 weights of the two blocks at `pair`.
    static func pair(_ pair: UnsafeRawPointer) -> QuantizedChunk
}

extension PairedBlockLayout {
    static var chunksPerBlock: Int { 1 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> UnsafeRawPointer { row + index * 2 * blockBytes }

    @inline(__always)
    static func chunk(_ block: UnsafeRawPointer, _ index: Int) -> QuantizedChunk { pair(block) }
}

/// Helpers shared by the layouts.
enum ChunkParts {
    static var lowNibbles: __m512i {
        @inline(__always) get { _mm512_set1_epi8(0x0F) }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Lanes 0–7 = `a`, lanes 8–15 = `b`: one factor per 32-weight block.
    @inline(__always)
    static func perBlock(_ a: Float, _ b: Float) -> __m512 {
        _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b))
    }

    /// The 16 bytes at `p` and at `q` as `[p low nibbles | p high nibbles | q low | q high]`:
    /// the element order of two Q4_0/Q4_1/Q5_0 blocks.
    @inline(__always)
    static func nibblePairs(_ p: UnsafeRawPointer, _ q: UnsafeRawPointer) -> __m512i {
        let first = _mm512_broadcast_i32x4(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self)))
        let second = _mm512_broadcast_i32x4(_mm_loadu_si128(q.assumingMemoryBound(to: __m128i_u.self)))
        let both = _mm512_mask_blend_epi64(0xF0, first, second)
        let shifts = _mm512_set_epi64(4 * 0x0001_0001_0001_0001, 4 * 0x0001_0001_0001_0001, 0, 0,
                                      4 * 0x0001_0001_0001_0001, 4 * 0x0001_0001_0001_0001, 0, 0)
        return _mm512_and_si512(_mm512_srlv_epi16(both, shifts), lowNibbles)
    }

    /// The 32 bytes at `p` as `[low nibbles | high nibbles]`: one Q4_K sub-block pair.
    @inline(__always)
    static func nibbleHalves(_ p: UnsafeRawPointer) -> __m512i {
        let both = _mm512_broadcast_i64x4(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self)))
        let shifts = _mm512_set_epi64(4 * 0x0001_0001_0001_0001, 4 * 0x0001_0001_0001_0001,
                                      4 * 0x0001_0001_0001_0001, 4 * 0x0001_0001_0001_0001, 0, 0, 0, 0)
        return _mm512_and_si512(_mm512_srlv_epi16(both, shifts), lowNibbles)
    }
}

/// Q4_0: 32 weights `d · (q − 8)` in 18 bytes.
enum Q4_0Chunk: PairedBlockLayout {
    static var blockBytes: Int { 18 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + 18
        let da = ChunkParts.half(a, 0), db = ChunkParts.half(b, 0)
        return QuantizedChunk(codes: ChunkParts.nibblePairs(a + 2, b + 2),
                              scales: ChunkParts.perBlock(da, db), offsets: ChunkParts.perBlock(-8 * da, -8 * db))
    }
}

/// Q4_1: 32 weights `d · q + m` in 20 bytes.
enum Q4_1Chunk: PairedBlockLayout {
    static var blockBytes: Int { 20 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + 20
        return QuantizedChunk(codes: ChunkParts.nibblePairs(a + 4, b + 4),
                              scales: ChunkParts.perBlock(ChunkParts.half(a, 0), ChunkParts.half(b, 0)),
                              offsets: ChunkParts.perBlock(ChunkParts.half(a, 2), ChunkParts.half(b, 2)))
    }
}

/// Q5_0: 32 weights `d · (q − 16)` in 22 bytes; bit e of the 32-bit `qh` is weight e's fifth bit.
enum Q5_0Chunk: PairedBlockLayout {
    static var blockBytes: Int { 22 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + 22
        let da = ChunkParts.half(a, 0), db = ChunkParts.half(b, 0)
        let high = UInt64(a.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            | UInt64(b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)) << 32
        let codes = _mm512_or_si512(ChunkParts.nibblePairs(a + 6, b + 6), _mm512_maskz_set1_epi8(high, 0x10))
        return QuantizedChunk(codes: codes, scales: ChunkParts.perBlock(da, db),
                              offsets: ChunkParts.perBlock(-16 * da, -16 * db))
    }
}

/// Q8_0: 32 weights `d · q` (signed bytes) in 34 bytes; codes are `q + 128`.
enum Q8_0Chunk: PairedBlockLayout {
    static var blockBytes: Int { 34 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + 34
        let da = ChunkParts.half(a, 0), db = ChunkParts.half(b, 0)
        let first = _mm512_castsi256_si512(_mm256_loadu_si256((a + 2).assumingMemoryBound(to: __m256i_u.self)))
        let both = _mm512_mask_broadcast_i64x4(first, 0xF0, _mm256_loadu_si256((b + 2).assumingMemoryBound(to: __m256i_u.self)))
        return QuantizedChunk(codes: _mm512_xor_si512(both, _mm512_set1_epi8(-128)),
                              scales: ChunkParts.perBlock(da, db), offsets: ChunkParts.perBlock(-128 * da, -128 * db))
    }
}

/// Q4_K: 256 weights in 144 bytes, 8 sub-blocks of 32 with 6-bit scales and minimums:
/// `d · sc · q − dmin · m`. A chunk is one sub-block pair (32 bytes of nibbles).
enum Q4_KChunk: ChunkLayout {
    struct Block {
        let nibbles: UnsafeRawPointer
        /// Lanes 0–7: `d · sc_j`; lanes 8–15: `−dmin · m_j`.
        let factors: __m512
    }

    static var chunksPerBlock: Int { 4 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block {
        let block = row + index * 144
        // 12 bytes of 6-bit scales and minimums, rearranged into bytes sc_0…sc_7, m_0…m_7: j < 4 in
        // the low bits of bytes j and j+4; j ≥ 4 a nibble of byte j+4 plus the top two bits of
        // bytes j−4 and j.
        let u0 = (block + 4).loadUnaligned(as: UInt32.self), u1 = (block + 8).loadUnaligned(as: UInt32.self)
        let u2 = (block + 12).loadUnaligned(as: UInt32.self)
        let sixBits: UInt32 = 0x3F3F_3F3F, nibbles: UInt32 = 0x0F0F_0F0F, twoBits: UInt32 = 0x0303_0303
        let scalesLow = u0 & sixBits
        let scalesHigh = (u2 & nibbles) | (((u0 >> 6) & twoBits) << 4)
        let minsLow = u1 & sixBits
        let minsHigh = ((u2 >> 4) & nibbles) | (((u1 >> 6) & twoBits) << 4)
        let bytes = _mm_set_epi32(Int32(bitPattern: minsHigh), Int32(bitPattern: minsLow), Int32(bitPattern: scalesHigh), Int32(bitPattern: scalesLow))
        let d = ChunkParts.half(block, 0), dmin = ChunkParts.half(block, 2)
        let factors = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes)),
                                    _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d), _mm512_set1_ps(-dmin)))
        return Block(nibbles: block + 16, factors: factors)
    }

    @inline(__always)
    static func chunk(_ block: Block, _ index: Int) -> QuantizedChunk {
        let j = Int32(2 * index)
        let pick = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(j), _mm512_set1_epi32(j + 1))
        return QuantizedChunk(codes: ChunkParts.nibbleHalves(block.nibbles + 32 * index),
                              scales: _mm512_permutexvar_ps(pick, block.factors),
                              offsets: _mm512_permutexvar_ps(_mm512_add_epi32(pick, _mm512_set1_epi32(8)), block.factors))
    }
}

/// Q6_K: 256 weights in 210 bytes, `d · sc · (q − 32)` with an 8-bit scale per 16 weights.
/// Each 128-weight half has 64 bytes of low nibbles and 32 of high bit pairs; chunk `index` is
/// half `index/2`, its low (`index` even) or high nibbles with bit pairs 0/1 or 2/3 of `qh`.
enum Q6_KChunk: ChunkLayout {
    struct Block {
        let start: UnsafeRawPointer
        /// `d · sc_g` for the 16 groups of 16 weights.
        let scales: __m512
    }

    static var chunksPerBlock: Int { 4 }

    @inline(__always)
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block {
        let block = row + index * 210
        let sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((block + 192).assumingMemoryBound(to: __m128i_u.self))))
        return Block(start: block, scales: _mm512_mul_ps(sc, _mm512_set1_ps(ChunkParts.half(block, 208))))
    }

    @inline(__always)
    static func chunk(_ block: Block, _ index: Int) -> QuantizedChunk {
        let half = index >> 1, upper = index & 1
        let low = _mm512_loadu_si512(block.start + 64 * half)
        let lowBits = _mm512_and_si512(_mm512_srl_epi16(low, _mm_cvtsi32_si128(Int32(4 * upper))), ChunkParts.lowNibbles)
        let high = _mm512_broadcast_i64x4(_mm256_loadu_si256((block.start + 128 + 32 * half).assumingMemoryBound(to: __m256i_u.self)))
        let shift = Int64(4 * upper) * 0x0001_0001_0001_0001, shift2 = shift + 2 * 0x0001_0001_0001_0001
        let highShifted = _mm512_srlv_epi16(high, _mm512_set_epi64(shift2, shift2, shift2, shift2, shift, shift, shift, shift))
        let highBits = _mm512_slli_epi16(_mm512_and_si512(highShifted, _mm512_set1_epi8(3)), 4)
        // Lane group k of 4 takes group 4·index + k's scale.
        let pick = _mm512_add_epi32(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0), _mm512_set1_epi32(Int32(4 * index)))
        let scales = _mm512_permutexvar_ps(pick, block.scales)
        return QuantizedChunk(codes: _mm512_or_si512(lowBits, highBits), scales: scales,
                              offsets: _mm512_mul_ps(scales, _mm512_set1_ps(-32)))
    }
}
