#if arch(x86_64)
import CX86
import SpeculaKernels

/// 64 weights of a quantized row, unpacked in registers for `vpdpbusd`: unsigned 8-bit codes and,
/// per 32-bit lane (4 weights), a scale and an offset such that `weight = scale · code + offset`.
///
/// Codes are unsigned because `vpdpbusd` multiplies unsigned by signed bytes. Where the shift that
/// makes them so is a multiple of the scale (`weight = scale · (code − 2^s)`: Q4_0, Q5_0, Q8_0, see
/// `ChunkLayout.codeOffsetShift`) the kernel removes it in integers and `offsets` is zero; Q4_1
/// carries its minimum in `offsets`.
struct QuantizedChunk {
    var codes: __m512i
    var scales: __m512
    var offsets: __m512
}

/// A 32-weight ggml block format that the integer kernels read two blocks (64 weights) at a time
/// (llama.cpp's `ggml-quants.c` formulas, written anew). Rows must hold an even number of blocks.
protocol ChunkLayout {
    /// Bytes of one 32-weight block.
    static var blockBytes: Int { get }
    /// `s` when every weight is `scale · (code − 2^s)` (the offset is the scale's multiple), so the
    /// kernel subtracts `2^s · Σx` in integers; nil when offsets are independent floats (Q4_1).
    static var codeOffsetShift: UInt32? { get }
    /// Unpacks the 64 weights of the two blocks at `pair`.
    static func pair(_ pair: UnsafeRawPointer) -> QuantizedChunk
}

/// Helpers shared by the layouts.
enum ChunkParts {
    static var lowNibbles: __m512i {
        @inline(__always) get { _mm512_set1_epi8(0x0F) }
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
}

/// Q4_0: 32 weights `d · (q − 8)` in 18 bytes.
enum Q4_0Chunk: ChunkLayout {
    static var blockBytes: Int { 18 }
    static var codeOffsetShift: UInt32? { 3 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + blockBytes
        let da = Dequantize.half(a, 0), db = Dequantize.half(b, 0)
        return QuantizedChunk(codes: ChunkParts.nibblePairs(a + 2, b + 2),
                              scales: ChunkParts.perBlock(da, db), offsets: _mm512_setzero_ps())
    }
}

/// Q4_1: 32 weights `d · q + m` in 20 bytes.
enum Q4_1Chunk: ChunkLayout {
    static var blockBytes: Int { 20 }
    static var codeOffsetShift: UInt32? { nil }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + blockBytes
        return QuantizedChunk(codes: ChunkParts.nibblePairs(a + 4, b + 4),
                              scales: ChunkParts.perBlock(Dequantize.half(a, 0), Dequantize.half(b, 0)),
                              offsets: ChunkParts.perBlock(Dequantize.half(a, 2), Dequantize.half(b, 2)))
    }
}

/// Q5_0: 32 weights `d · (q − 16)` in 22 bytes; bit e of the 32-bit `qh` is weight e's fifth bit.
enum Q5_0Chunk: ChunkLayout {
    static var blockBytes: Int { 22 }
    static var codeOffsetShift: UInt32? { 4 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + blockBytes
        let da = Dequantize.half(a, 0), db = Dequantize.half(b, 0)
        let high = UInt64(a.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            | UInt64(b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)) << 32
        let codes = _mm512_or_si512(ChunkParts.nibblePairs(a + 6, b + 6), _mm512_maskz_set1_epi8(high, 0x10))
        return QuantizedChunk(codes: codes, scales: ChunkParts.perBlock(da, db),
                              offsets: _mm512_setzero_ps())
    }
}

/// Q8_0: 32 weights `d · q` (signed bytes) in 34 bytes; codes are `q + 128`.
enum Q8_0Chunk: ChunkLayout {
    static var blockBytes: Int { 34 }
    static var codeOffsetShift: UInt32? { 7 }

    @inline(__always)
    static func pair(_ a: UnsafeRawPointer) -> QuantizedChunk {
        let b = a + blockBytes
        let da = Dequantize.half(a, 0), db = Dequantize.half(b, 0)
        let first = _mm512_castsi256_si512(_mm256_loadu_si256((a + 2).assumingMemoryBound(to: __m256i_u.self)))
        let both = _mm512_mask_broadcast_i64x4(first, 0xF0, _mm256_loadu_si256((b + 2).assumingMemoryBound(to: __m256i_u.self)))
        return QuantizedChunk(codes: _mm512_xor_si512(both, _mm512_set1_epi8(-128)),
                              scales: ChunkParts.perBlock(da, db), offsets: _mm512_setzero_ps())
    }
}
#endif
