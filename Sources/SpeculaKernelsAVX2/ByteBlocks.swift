#if arch(x86_64)
import CX86
import SpeculaKernels

/// A weight format as the AVX2 kernels read it (`RowDot`): blocks of `blockWeights` weights
/// (32, or a K-quant's superblock of 256), each decoded once per row (`Block`) and then added into
/// the sums of every token of a tile against the token's activations in groups of the same size
/// (`ByteActivations`). llama.cpp's AVX2 formulas, written anew.
protocol ByteBlockFormat {
    associatedtype Block
    static var blockBytes: Int { get }
    static var blockWeights: Int { get }
    static func block(_ p: UnsafeRawPointer) -> Block
    /// Adds block `b` of the row times the token's group `b` into `sums`.
    static func add(_ block: Block, _ x: ByteActivations.Row, _ b: Int, into sums: inout TokenSums)
}

/// One token's running sums over a row: eight float lanes (a K-quant's offsets go there too) and
/// a scalar for Q4_1's minimums. The total adds the lanes in one fixed order, whatever the tile.
struct TokenSums {
    var lanes = _mm256_setzero_ps()
    var offsets: Float = 0

    var total: Float {
        @inline(__always) get {
            let s = unsafeBitCast(lanes, to: SIMD8<Float>.self)
            let q = s.lowHalf + s.highHalf, p = q.lowHalf + q.highHalf
            return (p[0] + p[1]) + offsets
        }
    }
}

/// Byte products.
enum Bytes {
    /// `acc` plus, in each 32-bit lane, Σ of the four products of unsigned bytes of `u` and signed
    /// bytes of `s` (each pair sum must fit 16 bits: codes up to 128 against |x| ≤ 127).
    @inline(__always)
    static func dot(_ acc: __m256i, _ u: __m256i, _ s: __m256i) -> __m256i {
        _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)))
    }

    /// The 16 bytes at `p` as 32 nibbles: low nibbles (weights 0–15), then high (16–31).
    @inline(__always)
    static func nibbles(_ p: UnsafeRawPointer) -> __m256i {
        let raw = _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
        return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F))
    }

    /// 0xFF in byte i where bit i of `bits` is set, else 0.
    @inline(__always)
    static func bitMask(_ bits: UInt32) -> __m256i {
        let bytes = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202, 0x0101_0101_0101_0101, 0)
        let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: bits)), bytes)  // byte i: bits' byte i / 8
        let others = _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE)  // byte i: every bit but i mod 8
        return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1))
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> __m256i { _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self)) }

    /// The f16 value at `p + offset` as a float, converted here with F16C. `Dequantize.half`
    /// is compiled for any x86-64 CPU, where the conversion is a library call, and a call into
    /// another module is not inlined (measured: a fifth of the AVX2 level's decode time).
    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}

/// A format of 32-weight blocks whose weights are `d · q` for signed codes q (Q4_0, Q5_0, Q8_0):
/// per block and token, one product of the codes' magnitudes (taken once per block) with the
/// activations given the codes' signs, and one multiply-add by `d · d_x`.
protocol SignedBlockFormat: ByteBlockFormat where Block == SignedCodes {
    /// The block's codes and scale `d`.
    static func codes(_ p: UnsafeRawPointer) -> (codes: __m256i, scale: Float)
}

/// A block of signed codes as `SignedBlockFormat` multiplies it.
struct SignedCodes {
    let codes: __m256i, magnitudes: __m256i, scale: Float
}

extension SignedBlockFormat {
    static var blockWeights: Int { 32 }

    @inline(__always)
    static func block(_ p: UnsafeRawPointer) -> Block {
        let (codes, scale) = codes(p)
        return SignedCodes(codes: codes, magnitudes: _mm256_sign_epi8(codes, codes), scale: scale)
    }

    @inline(__always)
    static func add(_ block: Block, _ x: ByteActivations.Row, _ b: Int, into sums: inout TokenSums) {
        let signed = _mm256_sign_epi8(Bytes.load(x.codes + 32 * b), block.codes)
        let dot = Bytes.dot(_mm256_setzero_si256(), block.magnitudes, signed)
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(block.scale * x.scales[b]), sums.lanes)
    }
}

/// Q4_0: 32 weights `d · (q − 8)` in 18 bytes.
enum Q4_0Bytes: SignedBlockFormat {
    static var blockBytes: Int { 18 }

    @inline(__always)
    static func codes(_ p: UnsafeRawPointer) -> (codes: __m256i, scale: Float) {
        (_mm256_sub_epi8(Bytes.nibbles(p + 2), _mm256_set1_epi8(8)), Bytes.half(p, 0))
    }
}

/// Q5_0: 32 weights `d · (q − 16)` in 22 bytes; bit i of the 32-bit `qh` is weight i's fifth bit.
enum Q5_0Bytes: SignedBlockFormat {
    static var blockBytes: Int { 22 }

    @inline(__always)
    static func codes(_ p: UnsafeRawPointer) -> (codes: __m256i, scale: Float) {
        let fifthBits = Bytes.bitMask(p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let high = _mm256_and_si256(fifthBits, _mm256_set1_epi8(0x10))
        return (_mm256_sub_epi8(_mm256_or_si256(Bytes.nibbles(p + 6), high), _mm256_set1_epi8(16)), Bytes.half(p, 0))
    }
}

/// Q8_0: 32 weights `d · q` (signed bytes) in 34 bytes.
enum Q8_0Bytes: SignedBlockFormat {
    static var blockBytes: Int { 34 }

    @inline(__always)
    static func codes(_ p: UnsafeRawPointer) -> (codes: __m256i, scale: Float) { (Bytes.load(p + 2), Bytes.half(p, 0)) }
}

/// Q4_1: 32 weights `d · q + m` in 20 bytes: the codes' product in integers, the minimum times
/// the token's `d_x · Σq` into the offsets.
enum Q4_1Bytes: ByteBlockFormat {
    static var blockBytes: Int { 20 }
    static var blockWeights: Int { 32 }

    @inline(__always)
    static func block(_ p: UnsafeRawPointer) -> (codes: __m256i, scale: Float, minimum: Float) {
        (Bytes.nibbles(p + 4), Bytes.half(p, 0), Bytes.half(p, 2))
    }

    @inline(__always)
    static func add(_ block: Block, _ x: ByteActivations.Row, _ b: Int, into sums: inout TokenSums) {
        let dot = Bytes.dot(_mm256_setzero_si256(), block.codes, Bytes.load(x.codes + 32 * b))
        let d = x.scales[b]
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(block.scale * d), sums.lanes)
        sums.offsets += block.minimum * d * Float(Int32(x.sums16[2 * b]) + Int32(x.sums16[2 * b + 1]))
    }
}
#endif
