#if LINKED_KERNELS  // compiled again in a faster level's module for its instructions (SpeculaKernelsAVX2)
package import SpeculaKernels
#endif

/// The vector kernels in Swift's SIMD types only: what any CPU runs (SSE2 and up on x86-64, NEON
/// on aarch64), and the reference the faster levels are tested against.
///
/// Products and sums are separate operations, never fused: a CPU without FMA would compute a
/// fused one in software, a call per lane, and Swift never fuses on its own, so every CPU gets
/// the same bits.
package struct PortableVectorKernels: VectorKernels {
    package init() {}

    package func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            acc += Self.load(a, i) * Self.load(b, i)
            i += 16
        }
        return Self.finish(acc, a, b, from: i, n)
    }

    package func dot4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
                      _ b3: UnsafePointer<Float>, _ n: Int) -> (Float, Float, Float, Float) {
        var acc0 = SIMD16<Float>(), acc1 = acc0, acc2 = acc0, acc3 = acc0
        var i = 0
        while i + 16 <= n {
            let w = Self.load(a, i)
            acc0 += w * Self.load(b0, i)
            acc1 += w * Self.load(b1, i)
            acc2 += w * Self.load(b2, i)
            acc3 += w * Self.load(b3, i)
            i += 16
        }
        return (Self.finish(acc0, a, b0, from: i, n), Self.finish(acc1, a, b1, from: i, n),
                Self.finish(acc2, a, b2, from: i, n), Self.finish(acc3, a, b3, from: i, n))
    }

    package func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var largest = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= n {
            largest = pointwiseMax(largest, Self.load(x, i))
            i += 16
        }
        var result = largest.max()
        while i < n {
            result = max(result, x[i])
            i += 1
        }
        return result
    }

    package func exponentiate(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus m: Float) -> Float {
        var sum = SIMD16<Float>()
        var i = 0
        while i < n {
            let count = min(16, n - i)
            let e = Self.exp16(Self.load(x, i, count: count) - SIMD16(repeating: m))
            Self.store(e, to: x, i, count: count)
            sum += e.replacing(with: 0, where: .!Self.lanes(count))
            i += 16
        }
        return Self.reduce(sum)
    }

    package func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int) {
        let one = SIMD16<Float>(repeating: 1)
        var i = 0
        while i < n {
            let count = min(16, n - i)
            let g = Self.load(gate, i, count: count)
            let sigmoid = one / (one + Self.exp16(-g))
            Self.store(g * sigmoid * Self.load(up, i, count: count), to: gate, i, count: count)
            i += 16
        }
    }

    package func widen(_ x: UnsafePointer<Float16>, _ n: Int, into out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = Float(x[i]) }
    }

    package func attentionScores(rows: Int, query: (Int) -> UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, dimensions: Int,
                                 scale: Float, valid: Int, destination: (Int) -> UnsafeMutablePointer<Float>) {
        AttentionScores<SeparateMultiplyAdd>.compute(rows: rows, query: query, keys: keys, stride: stride, dimensions: dimensions, scale: scale,
                                             valid: valid, destination: destination)
    }

    package func accumulateWeightedValues(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int,
                                          dimensions: Int, into out: UnsafeMutablePointer<Float>) {
        WeightedValues<SeparateMultiplyAdd>.accumulate(weights: weights, values: values, stride: stride, count: count, dimensions: dimensions, into: out)
    }

    package func signSelectedSums(signs: UnsafePointer<UInt64>, wordsPerRow: Int, rows: Range<Int>,
                                  codes: [UnsafePointer<UInt8>], into sums: [UnsafeMutablePointer<Int32>]) {
        for (x, out) in zip(codes, sums) {
            for r in rows {
                var total: Int32 = 0
                for g in 0..<wordsPerRow {
                    var word = signs[r * wordsPerRow + g]
                    while word != 0 {
                        total &+= Int32(x[64 * g + word.trailingZeroBitCount])
                        word &= word &- 1
                    }
                }
                out[r] = total
            }
        }
    }

    // MARK: Lanes

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// The first `count` (≤ 16) values from `p + i`, zeros after.
    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int, count: Int) -> SIMD16<Float> {
        guard count < 16 else { return load(p, i) }
        var v = SIMD16<Float>()
        for j in 0..<count { v[j] = p[i + j] }
        return v
    }

    @inline(__always)
    private static func store(_ v: SIMD16<Float>, to p: UnsafeMutablePointer<Float>, _ i: Int, count: Int) {
        guard count < 16 else { return UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self) }
        for j in 0..<count { p[i + j] = v[j] }
    }

    /// The first `count` lanes.
    @inline(__always)
    private static func lanes(_ count: Int) -> SIMDMask<SIMD16<Int32>> {
        SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .< SIMD16(repeating: Int32(count))
    }

    /// Reduces 16 lanes pairwise (fixed order).
    @inline(__always)
    private static func reduce(_ v: SIMD16<Float>) -> Float {
        let s8 = v.lowHalf + v.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }

    /// Reduces 16 lanes pairwise, then adds the tail from `start` in order.
    @inline(__always)
    private static func finish(_ acc: SIMD16<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, from start: Int, _ n: Int) -> Float {
        var sum = reduce(acc)
        for i in start..<n { sum += a[i] * b[i] }
        return sum
    }

    /// e^x on 16 lanes, to about 1 ulp: Cephes' `expf` as the AVX-512 level computes it
    /// (x = n·ln 2 + r, a degree-6 polynomial in r), with 2^n applied in two halves so that
    /// results below the normal range come out subnormal, then 0, and above it infinity.
    @inline(__always)
    private static func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let x = pointwiseMin(pointwiseMax(x, SIMD16(repeating: -110)), SIMD16(repeating: 89))
        let n = (x * SIMD16(repeating: 1.442_695_04)).rounded(.toNearestOrEven)
        var r = x - n * SIMD16(repeating: 0.693_359_375)
        r = r - n * SIMD16(repeating: -2.121_944_4e-4)
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = p * r + SIMD16(repeating: 1.398_199_95e-3)
        p = p * r + SIMD16(repeating: 8.333_451_9e-3)
        p = p * r + SIMD16(repeating: 4.166_579_59e-2)
        p = p * r + SIMD16(repeating: 1.666_666_55e-1)
        p = p * r + SIMD16(repeating: 5.000_000_12e-1)
        let y = p * r * r + r + SIMD16(repeating: 1)
        // n is a whole number below 2^22 in size: adding 1.5 · 2^23 puts it in the low bits of the
        // float (one vector add and subtract, where `SIMD16<Int32>(n)` converts lane by lane).
        let exponent = unsafeBitCast(n + SIMD16(repeating: 12_582_912), to: SIMD16<Int32>.self) &- 0x4B40_0000
        let half = exponent / 2
        return y * power(half) * power(exponent &- half)
    }

    /// 2^e for −126 ≤ e ≤ 127, built from its exponent bits.
    @inline(__always)
    private static func power(_ e: SIMD16<Int32>) -> SIMD16<Float> {
        unsafeBitCast((e &+ 127) &<< 23, to: SIMD16<Float>.self)
    }
}
