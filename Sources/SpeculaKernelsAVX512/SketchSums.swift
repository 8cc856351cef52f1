#if arch(x86_64)
internal import CX86

/// The candidate head's sketch sums in AVX-512 VNNI (`VectorKernels.signSelectedSums`): per 64
/// columns and row, the row's sign bits select the columns' activation codes and `vpdpbusd`
/// adds them up. Tokens go two at a time, each row's bits expanded once for both.
enum SketchSums {
    static func compute(signs: UnsafePointer<UInt64>, wordsPerRow: Int, rows: Range<Int>,
                        codes: [UnsafePointer<UInt8>], into sums: [UnsafeMutablePointer<Int32>]) {
        var t = 0
        while t + 2 <= codes.count {
            pair(signs, wordsPerRow, rows, codes[t], codes[t + 1], into: sums[t], sums[t + 1])
            t += 2
        }
        if t < codes.count { single(signs, wordsPerRow, rows, codes[t], into: sums[t]) }
    }

    /// One token, four rows at a time: a masked move keeps the selected bytes and one
    /// `vpdpbusd` by ones adds them.
    private static func single(_ bits: UnsafePointer<UInt64>, _ words: Int, _ range: Range<Int>, _ codes: UnsafePointer<UInt8>,
                               into sums: UnsafeMutablePointer<Int32>) {
        let x = UnsafeRawPointer(codes), ones = _mm512_set1_epi8(1)
        var r = range.lowerBound
        while r &+ 4 <= range.upperBound {
            let b0 = bits + r &* words, b1 = b0 + words, b2 = b1 + words, b3 = b2 + words
            var a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0
            for g in 0..<words {
                let v = _mm512_loadu_si512(x + 64 &* g)
                a0 = _mm512_dpbusd_epi32(a0, _mm512_maskz_mov_epi8(b0[g], v), ones)
                a1 = _mm512_dpbusd_epi32(a1, _mm512_maskz_mov_epi8(b1[g], v), ones)
                a2 = _mm512_dpbusd_epi32(a2, _mm512_maskz_mov_epi8(b2[g], v), ones)
                a3 = _mm512_dpbusd_epi32(a3, _mm512_maskz_mov_epi8(b3[g], v), ones)
            }
            sums[r] = _mm512_reduce_add_epi32(a0)
            sums[r &+ 1] = _mm512_reduce_add_epi32(a1)
            sums[r &+ 2] = _mm512_reduce_add_epi32(a2)
            sums[r &+ 3] = _mm512_reduce_add_epi32(a3)
            r &+= 4
        }
        while r < range.upperBound {
            let b0 = bits + r &* words
            var lanes = _mm512_setzero_si512()
            for g in 0..<words { lanes = _mm512_dpbusd_epi32(lanes, _mm512_maskz_mov_epi8(b0[g], _mm512_loadu_si512(x + 64 &* g)), ones) }
            sums[r] = _mm512_reduce_add_epi32(lanes)
            r &+= 1
        }
    }

    /// Two tokens: per 64 columns and row the sign bits become bytes of −1 or 0 once
    /// (`vpmovm2b`), and one `vpdpbusd` per token adds −code for the selected columns.
    private static func pair(_ bits: UnsafePointer<UInt64>, _ words: Int, _ range: Range<Int>, _ first: UnsafePointer<UInt8>,
                             _ second: UnsafePointer<UInt8>, into sumsOfFirst: UnsafeMutablePointer<Int32>,
                             _ sumsOfSecond: UnsafeMutablePointer<Int32>) {
        let x = UnsafeRawPointer(first), y = UnsafeRawPointer(second)
        var r = range.lowerBound
        while r < range.upperBound {
            let rowsNow = min(2, range.upperBound &- r)
            let b0 = bits + r &* words, b1 = rowsNow == 2 ? b0 + words : b0
            var a0 = _mm512_setzero_si512(), a1 = a0, c0 = a0, c1 = a0
            for g in 0..<words {
                let v = _mm512_loadu_si512(x + 64 &* g), w = _mm512_loadu_si512(y + 64 &* g)
                let m0 = _mm512_movm_epi8(b0[g]), m1 = _mm512_movm_epi8(b1[g])
                a0 = _mm512_dpbusd_epi32(a0, v, m0)
                c0 = _mm512_dpbusd_epi32(c0, w, m0)
                a1 = _mm512_dpbusd_epi32(a1, v, m1)
                c1 = _mm512_dpbusd_epi32(c1, w, m1)
            }
            sumsOfFirst[r] = 0 &- _mm512_reduce_add_epi32(a0)
            sumsOfSecond[r] = 0 &- _mm512_reduce_add_epi32(c0)
            if rowsNow == 2 {
                sumsOfFirst[r &+ 1] = 0 &- _mm512_reduce_add_epi32(a1)
                sumsOfSecond[r &+ 1] = 0 &- _mm512_reduce_add_epi32(c1)
            }
            r &+= rowsNow
        }
    }
}
#endif
