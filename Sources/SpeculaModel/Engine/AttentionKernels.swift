/// Attention scores: queries against blocks of `keys` keys stored dimension-major (row i holds
/// dimension i of the block's keys, rows `stride` floats apart), four queries at a time.
///
/// A score is `scale · Σ_i q[i]·k[i]`, the sum one chain of fused multiply-adds in dimension
/// order in the key's lane: the same arithmetic for every key, block, query slot and pass.
enum Scores {
    /// Keys per block: two vectors of 16 lanes.
    static let keys = 32

    /// For each row r < rows, the scores of `query(r)` against the block's first `valid` keys,
    /// written to `destination(r)[0..<valid]`.
    @inline(__always)
    static func compute(rows: Int, query: (Int) -> UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, dimensions d: Int,
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
                low0.addProduct(x0, low); high0.addProduct(x0, high)
                low1.addProduct(x1, low); high1.addProduct(x1, high)
                low2.addProduct(x2, low); high2.addProduct(x2, high)
                low3.addProduct(x3, low); high3.addProduct(x3, high)
                row += stride * MemoryLayout<Float>.size
            }
            store(low0 * scale, high0 * scale, valid: valid, to: destination(r))
            if r + 1 < rows { store(low1 * scale, high1 * scale, valid: valid, to: destination(r + 1)) }
            if r + 2 < rows { store(low2 * scale, high2 * scale, valid: valid, to: destination(r + 2)) }
            if r + 3 < rows { store(low3 * scale, high3 * scale, valid: valid, to: destination(r + 3)) }
            r += 4
        }
    }

    @inline(__always)
    private static func store(_ low: SIMD16<Float>, _ high: SIMD16<Float>, valid: Int, to out: UnsafeMutablePointer<Float>) {
        guard valid < keys else {
            UnsafeMutableRawPointer(out).storeBytes(of: low, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(out).storeBytes(of: high, toByteOffset: 64, as: SIMD16<Float>.self)
            return
        }
        for j in 0..<valid { out[j] = j < 16 ? low[j] : high[j - 16] }
    }
}

/// The value side of attention: `out += Σ_j weights[j] · values[j]` for `count` value rows
/// `stride` floats apart, in key order, one fused multiply-add per element and key (so a row's
/// output does not depend on how its keys are split into calls). Slices of 64 elements stay in
/// registers across the keys.
enum WeightedValues {
    @inline(__always)
    static func accumulate(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int, dimensions d: Int,
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
                a0.addProduct(w, v.loadUnaligned(as: SIMD16<Float>.self))
                a1.addProduct(w, v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
                a2.addProduct(w, v.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
                a3.addProduct(w, v.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
            }
            o.storeBytes(of: a0, toByteOffset: i * 4, as: SIMD16<Float>.self)
            o.storeBytes(of: a1, toByteOffset: i * 4 + 64, as: SIMD16<Float>.self)
            o.storeBytes(of: a2, toByteOffset: i * 4 + 128, as: SIMD16<Float>.self)
            o.storeBytes(of: a3, toByteOffset: i * 4 + 192, as: SIMD16<Float>.self)
            i += 64
        }
        while i + 16 <= d {
            var a = o.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            for j in 0..<count { a.addProduct(SIMD16<Float>(repeating: weights[j]), UnsafeRawPointer(values + j * stride + i).loadUnaligned(as: SIMD16<Float>.self)) }
            o.storeBytes(of: a, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < d {
            var y = out[i]
            for j in 0..<count { y = y.addingProduct(weights[j], values[j * stride + i]) }
            out[i] = y
            i += 1
        }
    }
}
