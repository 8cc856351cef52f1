/// A multiply-add as a kernel level computes it: fused where the level's instructions have it,
/// a product then a sum where they may not (a fused one would run in software).
package protocol MultiplyAdd {
    /// `acc += a · b`, lane by lane.
    static func add(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>)
    /// `acc + a · b`.
    static func add(_ acc: Float, _ a: Float, _ b: Float) -> Float
}

/// Fused multiply-adds (FMA): one rounding.
package enum FusedMultiplyAdd: MultiplyAdd {
    @inlinable @inline(__always)
    package static func add(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) { acc.addProduct(a, b) }
    @inlinable @inline(__always)
    package static func add(_ acc: Float, _ a: Float, _ b: Float) -> Float { acc.addingProduct(a, b) }
}

/// A product, then a sum: two roundings, and every CPU computes it alike.
package enum SeparateMultiplyAdd: MultiplyAdd {
    @inlinable @inline(__always)
    package static func add(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) { acc += a * b }
    @inlinable @inline(__always)
    package static func add(_ acc: Float, _ a: Float, _ b: Float) -> Float { acc + a * b }
}

/// Keys per block of the attention loops (`AttentionScores`): two vectors of 16 lanes.
package enum AttentionBlock {
    package static let keys = 32
}

/// Attention scores: queries against blocks of `AttentionBlock.keys` keys stored dimension-major
/// (row i holds dimension i of the block's keys, rows `stride` floats apart), four queries at a
/// time. Written once; each kernel level specializes it with its multiply-add `M` (the body is
/// inlinable, so the level's module compiles it for its own instructions).
///
/// A score is `scale · Σ_i q[i]·k[i]`, the sum one chain of multiply-adds in dimension order in
/// the key's lane: the same arithmetic for every key, block, query slot and pass.
package enum AttentionScores<M: MultiplyAdd> {
    /// For each row r < rows, the scores of `query(r)` against the block's first `valid` keys,
    /// written to `destination(r)[0..<valid]`.
    @inlinable @inline(__always)
    package static func compute(rows: Int, query: (Int) -> UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, dimensions d: Int,
                                scale: Float, valid: Int, destination: (Int) -> UnsafeMutablePointer<Float>) {
        var r = 0
        while r < rows {
            // A last group of fewer than four repeats its last query (computed, not stored).
            let q0 = query(r), q1 = query(min(r + 1, rows - 1)), q2 = query(min(r + 2, rows - 1)), q3 = query(min(r + 3, rows - 1))
            var low0 = SIMD16<Float>(), high0 = SIMD16<Float>(), low1 = SIMD16<Float>(), high1 = SIMD16<Float>()
            var low2 = SIMD16<Float>(), high2 = SIMD16<Float>(), low3 = SIMD16<Float>(), high3 = SIMD16<Float>()
            var row = UnsafeRawPointer(keys)
            for i in 0..<d {
                let low = row.loadUnaligned(as: SIMD16<Float>.self), high = row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                let x0 = SIMD16<Float>(repeating: q0[i]), x1 = SIMD16<Float>(repeating: q1[i])
                let x2 = SIMD16<Float>(repeating: q2[i]), x3 = SIMD16<Float>(repeating: q3[i])
                M.add(&low0, x0, low); M.add(&high0, x0, high)
                M.add(&low1, x1, low); M.add(&high1, x1, high)
                M.add(&low2, x2, low); M.add(&high2, x2, high)
                M.add(&low3, x3, low); M.add(&high3, x3, high)
                row += stride * MemoryLayout<Float>.size
            }
            store(low0 * scale, high0 * scale, valid: valid, to: destination(r))
            if r + 1 < rows { store(low1 * scale, high1 * scale, valid: valid, to: destination(r + 1)) }
            if r + 2 < rows { store(low2 * scale, high2 * scale, valid: valid, to: destination(r + 2)) }
            if r + 3 < rows { store(low3 * scale, high3 * scale, valid: valid, to: destination(r + 3)) }
            r += 4
        }
    }

    @inlinable @inline(__always)
    package static func store(_ low: SIMD16<Float>, _ high: SIMD16<Float>, valid: Int, to out: UnsafeMutablePointer<Float>) {
        guard valid < AttentionBlock.keys else {
            UnsafeMutableRawPointer(out).storeBytes(of: low, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out).storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self)
            return
        }
        for j in 0..<valid { out[j] = j < 16 ? low[j] : high[j - 16] }
    }
}

/// The value side of attention: `out += Σ_j weights[j] · values[j]` for `count` value rows
/// `stride` floats apart, in key order, one multiply-add `M` per element and key (so a row's
/// output does not depend on how its keys are split into calls). Slices of 64 elements stay in
/// registers across the keys. Written once, as `AttentionScores`.
package enum WeightedValues<M: MultiplyAdd> {
    @inlinable @inline(__always)
    package static func accumulate(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int, dimensions d: Int,
                           into out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 64 <= d {
            var a0 = o.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            var a1 = o.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
            var a2 = o.loadUnaligned(fromByteOffset: i * 4 + 128, as: SIMD16<Float>.self)
            var a3 = o.loadUnaligned(fromByteOffset: i * 4 + 192, as: SIMD16<Float>.self)
            for j in 0..<count {
                let w = SIMD16<Float>(repeating: weights[j]), v = UnsafeRawPointer(values + j * stride + i)
                M.add(&a0, w, v.loadUnaligned(as: SIMD16<Float>.self))
                M.add(&a1, w, v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                M.add(&a2, w, v.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
                M.add(&a3, w, v.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
            }
            o.storeBytes(of: a0, toByteOffset: i * 4, as: SIMD16<Float>.self)
            o.storeBytes(of: a1, toByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
            o.storeBytes(of: a2, toByteOffset: i * 4 + 128, as: SIMD16<Float>.self)
            o.storeBytes(of: a3, toByteOffset: i * 4 + 192, as: SIMD16<Float>.self)
            i += 64
        }
        while i + 16 <= d {
            var a = o.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            for j in 0..<count { M.add(&a, SIMD16<Float>(repeating: weights[j]), UnsafeRawPointer(values + j * stride + i).loadUnaligned(as: SIMD16<Float>.self)) }
            o.storeBytes(of: a, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < d {
            var y = out[i]
            for j in 0..<count { y = M.add(y, weights[j], values[j * stride + i]) }
            out[i] = y
            i += 1
        }
    }
}
