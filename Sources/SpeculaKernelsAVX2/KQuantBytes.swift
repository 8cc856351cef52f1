#if arch(x86_64)
import CX86
import SpeculaKernels

/// Q4_K: superblocks of 256 weights in 144 bytes: `d`, `dmin`, 6-bit scales and minimums of 8
/// sub-blocks of 32, and 128 bytes of nibbles, 32-byte row k holding sub-block 2k in its low
/// nibbles and 2k+1 in its high. Weight = `d · sc_j · q − dmin · m_j`.
///
/// Per row k and token: two unsigned byte products whose 16-bit pair sums are multiplied by the
/// sub-blocks' scales and paired again (`vpmaddwd`), exact in 32 bits over the superblock; one
/// multiply-add by `d · d_x`; the minimums against the token's sums of 16 codes in integers.
enum Q4_KBytes: ByteBlockFormat {
    struct Block {
        let nibbles: (__m256i, __m256i, __m256i, __m256i)
        /// `sc_j` as 16-bit lanes, one vector per sub-block.
        let scales: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i)
        /// m_0, m_0, m_1, m_1, … as 16-bit lanes: one per 16 weights, against the token's sums.
        let minimums: __m256i
        let d: Float, dmin: Float
    }

    static var blockBytes: Int { 144 }
    static var blockWeights: Int { 256 }

    @inline(__always)
    static func block(_ p: UnsafeRawPointer) -> Block {
        // 6-bit scales and minimums: j < 4 in the low bits of bytes j and j+4; j ≥ 4 a nibble of
        // byte j+4 plus the top two bits of bytes j−4 and j (`Dequantize.scaleMinK4`, four at a time).
        let u0 = (p + 4).loadUnaligned(as: UInt32.self), u1 = (p + 8).loadUnaligned(as: UInt32.self)
        let u2 = (p + 12).loadUnaligned(as: UInt32.self)
        let sixBits: UInt32 = 0x3F3F_3F3F, nibbles: UInt32 = 0x0F0F_0F0F, twoBits: UInt32 = 0x0303_0303
        let scales = UInt64(u0 & sixBits) | UInt64((u2 & nibbles) | (((u0 >> 6) & twoBits) << 4)) << 32
        let minimums = UInt64(u1 & sixBits) | UInt64(((u2 >> 4) & nibbles) | (((u1 >> 6) & twoBits) << 4)) << 32
        let sc = SIMD8<Int16>(truncatingIfNeeded: unsafeBitCast(scales, to: SIMD8<UInt8>.self))
        let m = _mm_set_epi64x(0, Int64(bitPattern: minimums))
        @inline(__always) func scale(_ j: Int) -> __m256i { _mm256_set1_epi16(sc[j]) }
        return Block(nibbles: (Bytes.load(p + 16), Bytes.load(p + 48), Bytes.load(p + 80), Bytes.load(p + 112)),
                     scales: (scale(0), scale(1), scale(2), scale(3), scale(4), scale(5), scale(6), scale(7)),
                     minimums: _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m)), d: Bytes.half(p, 0), dmin: Bytes.half(p, 2))
    }

    @inline(__always)
    static func add(_ block: Block, _ x: ByteActivations.Row, _ b: Int, into sums: inout TokenSums) {
        let codes = x.codes + 256 * b
        var lanes = _mm256_setzero_si256()
        @inline(__always) func row(_ k: Int, _ nibbles: __m256i, _ low: __m256i, _ high: __m256i) {
            let mask = _mm256_set1_epi8(0x0F)
            let first = _mm256_maddubs_epi16(_mm256_and_si256(nibbles, mask), Bytes.load(codes + 64 * k))
            let highNibbles = _mm256_and_si256(_mm256_srli_epi16(nibbles, 4), mask)
            let second = _mm256_maddubs_epi16(highNibbles, Bytes.load(codes + 64 * k + 32))
            lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(first, low))
            lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(second, high))
        }
        row(0, block.nibbles.0, block.scales.0, block.scales.1)
        row(1, block.nibbles.1, block.scales.2, block.scales.3)
        row(2, block.nibbles.2, block.scales.4, block.scales.5)
        row(3, block.nibbles.3, block.scales.6, block.scales.7)
        let d = x.scales[b]
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(block.d * d), sums.lanes)
        // Σ_j m_j · Σx over sub-block j (two sums of 16 codes each), in the lanes, times −dmin · d_x.
        let minimums = _mm256_madd_epi16(block.minimums, Bytes.load(x.sums16 + 16 * b))
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minimums), _mm256_set1_ps(-block.dmin * d), sums.lanes)
    }
}

/// Q6_K: superblocks of 256 weights in 210 bytes: 128 bytes of low nibbles, 64 of high bit
/// pairs, 16 signed scales (one per 16 weights), `d`. Weight = `d · sc_g · (q − 32)`; in each
/// half of 128, weight w's nibble is in byte w mod 64 (high nibble from 64 on) and its bit pair
/// in byte w mod 32, bits 2·(w / 32).
///
/// Per 32 weights and token: an unsigned byte product of the 6-bit codes, its 16-bit pair sums
/// multiplied by the two groups' scales and paired (`vpmaddwd`); the −32 against the token's sums
/// of 16 codes, in integers.
enum Q6_KBytes: ByteBlockFormat {
    struct Block {
        /// The 8 vectors of 32 six-bit codes, weights 32i…32i+31.
        let codes: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i)
        /// For vector i, `sc_2i` in the low eight 16-bit lanes and `sc_2i+1` in the high eight.
        let scales: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i)
        /// `sc_g` as 16-bit lanes, against the token's sums of 16 codes.
        let groupScales: __m256i
        let d: Float
    }

    static var blockBytes: Int { 210 }
    static var blockWeights: Int { 256 }

    @inline(__always)
    static func block(_ p: UnsafeRawPointer) -> Block {
        let sc = (p + 192).loadUnaligned(as: SIMD16<Int8>.self)
        @inline(__always) func half(_ h: Int) -> (__m256i, __m256i, __m256i, __m256i) {
            let mask = _mm256_set1_epi8(0x0F), pair = _mm256_set1_epi8(0x03)
            let low = Bytes.load(p + 64 * h), high = Bytes.load(p + 64 * h + 32), bits = Bytes.load(p + 128 + 32 * h)
            @inline(__always) func code(_ nibbles: __m256i, _ pairs: __m256i) -> __m256i {
                _mm256_or_si256(_mm256_and_si256(nibbles, mask), _mm256_slli_epi16(_mm256_and_si256(pairs, pair), 4))
            }
            return (code(low, bits), code(high, _mm256_srli_epi16(bits, 2)),
                    code(_mm256_srli_epi16(low, 4), _mm256_srli_epi16(bits, 4)),
                    code(_mm256_srli_epi16(high, 4), _mm256_srli_epi16(bits, 6)))
        }
        @inline(__always) func scales(_ i: Int) -> __m256i {
            _mm256_set_m128i(_mm_set1_epi16(Int16(sc[2 * i + 1])), _mm_set1_epi16(Int16(sc[2 * i])))
        }
        let (c0, c1, c2, c3) = half(0), (c4, c5, c6, c7) = half(1)
        return Block(codes: (c0, c1, c2, c3, c4, c5, c6, c7),
                     scales: (scales(0), scales(1), scales(2), scales(3), scales(4), scales(5), scales(6), scales(7)),
                     groupScales: _mm256_cvtepi8_epi16(_mm_loadu_si128((p + 192).assumingMemoryBound(to: __m128i_u.self))),
                     d: Bytes.half(p, 208))
    }

    @inline(__always)
    static func add(_ block: Block, _ x: ByteActivations.Row, _ b: Int, into sums: inout TokenSums) {
        let codes = x.codes + 256 * b
        var lanes = _mm256_setzero_si256()
        @inline(__always) func add(_ i: Int, _ q: __m256i, _ scales: __m256i) {
            lanes = _mm256_add_epi32(lanes, _mm256_madd_epi16(_mm256_maddubs_epi16(q, Bytes.load(codes + 32 * i)), scales))
        }
        add(0, block.codes.0, block.scales.0)
        add(1, block.codes.1, block.scales.1)
        add(2, block.codes.2, block.scales.2)
        add(3, block.codes.3, block.scales.3)
        add(4, block.codes.4, block.scales.4)
        add(5, block.codes.5, block.scales.5)
        add(6, block.codes.6, block.scales.6)
        add(7, block.codes.7, block.scales.7)
        let d = x.scales[b]
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(block.d * d), sums.lanes)
        // The −32: Σ_g sc_g · Σx over group g, in the lanes, times −32 · d · d_x.
        let offsets = _mm256_madd_epi16(block.groupScales, Bytes.load(x.sums16 + 16 * b))
        sums.lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(offsets), _mm256_set1_ps(-32 * block.d * d), sums.lanes)
    }
}
#endif
