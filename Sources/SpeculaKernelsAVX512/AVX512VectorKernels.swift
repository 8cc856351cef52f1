#if arch(x86_64)
internal import CX86
package import SpeculaKernels

/// The vector kernels in AVX-512 (16 float lanes, masked tails), the level's `VectorKernels`;
/// products and sums fused where the instruction set has it.
package struct AVX512VectorKernels: VectorKernels {
    package init() {}

    /// Σ a[i]·b[i]: 16 lanes of fused multiply-add partial sums over the 16-multiple prefix,
    /// reduced in a fixed order, then the tail in order. `dot4` computes exactly the same per
    /// output (same lanes, same fused operations), so results never depend on how a batch is
    /// grouped.
    package func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= n {
            acc.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        return Self.finish(acc, a, b, from: i, n)
    }

    /// Four dot products of one row `a` with `b0…b3`, reading `a` once.
    package func dot4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                      _ b3: UnsafePointer<Float>, _ n: Int) -> (Float, Float, Float, Float) {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a)
        let r0 = UnsafeRawPointer(b0), r1 = UnsafeRawPointer(b1), r2 = UnsafeRawPointer(b2), r3 = UnsafeRawPointer(b3)
        while i + 16 <= n {
            let w = ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            acc0.addProduct(w, r0.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            acc1.addProduct(w, r1.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            acc2.addProduct(w, r2.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            acc3.addProduct(w, r3.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        return (Self.finish(acc0, a, b0, from: i, n), Self.finish(acc1, a, b1, from: i, n), Self.finish(acc2, a, b2, from: i, n),
                Self.finish(acc3, a, b3, from: i, n))
    }

    /// Reduces 16 lanes pairwise (fixed order), then adds the tail from `i`.
    @inline(__always)
    private static func finish(_ acc: SIMD16<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, from start: Int, _ n: Int) -> Float {
        let s8 = acc.lowHalf + acc.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        var sum = s2[0] + s2[1]
        var i = start
        while i < n {
            sum = sum.addingProduct(a[i], b[i])
            i += 1
        }
        return sum
    }

    /// The largest of `x[0..<n]` (−∞ when n = 0), 16 lanes at a time (a maximum is exact, so
    /// the order does not matter).
    package func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var largest = _mm512_set1_ps(-Float.infinity)
        var i = 0
        while i < n {
            largest = _mm512_mask_max_ps(largest, Self.lanes(n - i), largest, _mm512_maskz_loadu_ps(Self.lanes(n - i), x + i))
            i += 16
        }
        return _mm512_reduce_max_ps(largest)
    }

    /// `out[i] = Float(x[i])` for i < n (exact), 16 at a time.
    package func widen(_ x: UnsafePointer<Float16>, _ n: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= n {
            _mm512_storeu_ps(out + i, _mm512_cvtph_ps(UnsafeRawPointer(x + i).loadUnaligned(as: __m256i.self)))
            i += 16
        }
        while i < n {
            out[i] = Float(x[i])
            i += 1
        }
    }

    /// `x[i] = exp(x[i] − m)` for i < n, returning Σ of the new values (16 lanes, reduced in a
    /// fixed order): the numerators of a softmax whose largest input is `m`.
    package func exponentiate(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus m: Float) -> Float {
        let shift = _mm512_set1_ps(m)
        var sum = _mm512_setzero_ps()
        var i = 0
        while i < n {
            let mask = Self.lanes(n - i)
            let e = Self.exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), shift))
            _mm512_mask_storeu_ps(x + i, mask, e)
            sum = _mm512_mask_add_ps(sum, mask, sum, e)
            i += 16
        }
        return _mm512_reduce_add_ps(sum)
    }

    /// SwiGLU in place: `gate[i] = g · σ(g) · up[i]` with `g = gate[i]`, for i < n.
    package func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let one = _mm512_set1_ps(1)
        var i = 0
        while i < n {
            let mask = Self.lanes(n - i)
            let g = _mm512_maskz_loadu_ps(mask, gate + i)
            let sigmoid = _mm512_div_ps(one, _mm512_add_ps(one, Self.exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))))
            _mm512_mask_storeu_ps(gate + i, mask, _mm512_mul_ps(_mm512_mul_ps(g, sigmoid), _mm512_maskz_loadu_ps(mask, up + i)))
            i += 16
        }
    }

    /// The first `min(remaining, 16)` of 16 lanes.
    @inline(__always)
    private static func lanes(_ remaining: Int) -> __mmask16 {
        __mmask16(truncatingIfNeeded: remaining >= 16 ? 0xFFFF : (1 << remaining) - 1)
    }

    /// e^x on 16 lanes, to about 1 ulp (Cephes' `expf`: x = n·ln 2 + r, a degree-6 polynomial in
    /// r, scaled by 2^n); results below the normal range (x < −87.3) are subnormal, then 0 from
    /// about −103.3; above 88.73 infinity.
    @inline(__always)
    private static func exp16(_ x: __m512) -> __m512 {
        let x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-110)), _mm512_set1_ps(89))
        let n = _mm512_cvtepi32_ps(_mm512_cvtps_epi32(_mm512_mul_ps(x, _mm512_set1_ps(1.442_695_04))))  // to nearest
        var r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693_359_375), x)
        r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.121_944_4e-4), r)
        var p = _mm512_set1_ps(1.987_569_15e-4)
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.398_199_95e-3))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.333_451_9e-3))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.166_579_59e-2))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.666_666_55e-1))
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.000_000_12e-1))
        let y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1))
        return _mm512_scalef_ps(y, n)
    }

    package func attentionScores(rows: Int, query: (Int) -> UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, dimensions: Int,
                                 scale: Float, valid: Int, destination: (Int) -> UnsafeMutablePointer<Float>) {
        AttentionScores<FusedMultiplyAdd>.compute(rows: rows, query: query, keys: keys, stride: stride, dimensions: dimensions, scale: scale,
                                             valid: valid, destination: destination)
    }

    package func accumulateWeightedValues(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int,
                                          dimensions: Int, into out: UnsafeMutablePointer<Float>) {
        WeightedValues<FusedMultiplyAdd>.accumulate(weights: weights, values: values, stride: stride, count: count, dimensions: dimensions, into: out)
    }

    package func signSelectedSums(signs: UnsafePointer<UInt64>, wordsPerRow: Int, rows: Range<Int>,
                                  codes: [UnsafePointer<UInt8>], into sums: [UnsafeMutablePointer<Int32>]) {
        SketchSums.compute(signs: signs, wordsPerRow: wordsPerRow, rows: rows, codes: codes, into: sums)
    }
}
#endif
