/// Dequantization of ggml blocks to `Float` (the formulas of llama.cpp's `ggml-quants.c`,
/// written anew): one row at a time, into a caller-owned scratch buffer.
///
/// Engine-internal; pointers never leave the engine's modules.
package enum Dequantize {
    @inline(__always)
    package static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Writes `count` values of a row of `type` starting at `source` to `out`.
    package static func row(_ type: GGMLType, _ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            out.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { out[i] = half(source, 2 * i) }
        case .q8_0:
            for b in 0..<count / 32 {
                let block = source + b * 34
                let d = half(block, 0)
                let qs = (block + 2).assumingMemoryBound(to: Int8.self)
                let y = out + b * 32
                for j in 0..<32 { y[j] = d * Float(qs[j]) }
            }
        case .q4_0:
            for b in 0..<count / 32 {
                let block = source + b * 18
                let d = half(block, 0)
                let qs = (block + 2).assumingMemoryBound(to: UInt8.self)
                let y = out + b * 32
                for j in 0..<16 {
                    y[j] = d * Float(Int(qs[j] & 0x0F) - 8)
                    y[j + 16] = d * Float(Int(qs[j] >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0..<count / 32 {
                let block = source + b * 20
                let d = half(block, 0)
                let m = half(block, 2)
                let qs = (block + 4).assumingMemoryBound(to: UInt8.self)
                let y = out + b * 32
                for j in 0..<16 {
                    y[j] = d * Float(qs[j] & 0x0F) + m
                    y[j + 16] = d * Float(qs[j] >> 4) + m
                }
            }
        case .q5_0:
            for b in 0..<count / 32 {
                let block = source + b * 22
                let d = half(block, 0)
                let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
                let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
                let y = out + b * 32
                for j in 0..<16 {
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    y[j] = d * Float(Int((qs[j] & 0x0F) | h0) - 16)
                    y[j + 16] = d * Float(Int((qs[j] >> 4) | h1) - 16)
                }
            }
        case .q4_K:
            for b in 0..<count / 256 {
                let block = source + b * 144
                let d = half(block, 0)
                let dmin = half(block, 2)
                let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
                var q = (block + 16).assumingMemoryBound(to: UInt8.self)
                var y = out + b * 256
                var subblock = 0
                for _ in 0..<4 {
                    let (sc1, m1) = scaleMinK4(subblock, scales)
                    let (sc2, m2) = scaleMinK4(subblock + 1, scales)
                    let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                    let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                    for l in 0..<32 { y[l] = d1 * Float(q[l] & 0x0F) - min1 }
                    for l in 0..<32 { y[l + 32] = d2 * Float(q[l] >> 4) - min2 }
                    q += 32
                    y += 64
                    subblock += 2
                }
            }
        case .q6_K:
            for b in 0..<count / 256 {
                let block = source + b * 210
                let sc = (block + 192).assumingMemoryBound(to: Int8.self)
                let d = half(block, 208)
                for part in 0..<2 {
                    let ql = block + part * 64
                    let qh = block + 128 + part * 32
                    let y = UnsafeMutableRawPointer(out + b * 256 + part * 128)
                    for chunk in 0..<2 {  // 16 lanes at a time: one scale per 16 outputs
                        let l = chunk * 16
                        let low = ql.loadUnaligned(fromByteOffset: l, as: SIMD16<UInt8>.self)
                        let high = ql.loadUnaligned(fromByteOffset: l + 32, as: SIMD16<UInt8>.self)
                        let h = qh.loadUnaligned(fromByteOffset: l, as: SIMD16<UInt8>.self)
                        let q1 = (low & 0x0F) | ((h & 3) &<< 4)
                        let q2 = (high & 0x0F) | (((h &>> 2) & 3) &<< 4)
                        let q3 = (low &>> 4) | (((h &>> 4) & 3) &<< 4)
                        let q4 = (high &>> 4) | (((h &>> 6) & 3) &<< 4)
                        let s = part * 8 + chunk
                        store(q1, scale: d * Float(sc[s]), to: y, at: l)
                        store(q2, scale: d * Float(sc[s + 2]), to: y, at: 32 + l)
                        store(q3, scale: d * Float(sc[s + 4]), to: y, at: 64 + l)
                        store(q4, scale: d * Float(sc[s + 6]), to: y, at: 96 + l)
                    }
                }
            }
        default:
            preconditionFailure("dequantization of \(type) is not supported (checked at load)")
        }
    }

    /// Stores `scale · (q − 32)` for 16 six-bit codes at float index `index` of `y`.
    @inline(__always)
    static func store(_ q: SIMD16<UInt8>, scale: Float, to y: UnsafeMutableRawPointer, at index: Int) {
        let values = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q) &- 32)
        y.storeBytes(of: values * scale, toByteOffset: index * 4, as: SIMD16<Float>.self)
    }

    /// The 6-bit scale and min of sub-block `j` of a Q4_K block.
    @inline(__always)
    package static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}
