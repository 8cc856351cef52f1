import CX86

/// Dot products of rows of the 32-weight formats with `QuantizedActivations`, in integers:
/// `vpdpbusd` multiplies 64 weight codes by 64 activation codes into 16 exact 32-bit lane sums,
/// which are then scaled per lane. A format whose weights are `d · (code − 2^s)` (Q4_0, Q5_0,
/// Q8_0) starts those sums at `−2^s · Σx` per lane, so its offset costs no float work; Q4_1's
/// minimums are added in floats through the activations' lane sums.
/// The way llama.cpp's quantized kernels work, written anew; K-quants take `SuperblockDot`.
///
/// Batch invariance: each output takes the same operations in the same order whether it is
/// computed alone (`dot`) or with three or seven others (`dot4`, `dot8`), so a token's result
/// never depends on its batch. Requires AVX-512 VNNI (the build targets the machine's own CPU).
enum IntegerDot {
    /// One token's activations, as the kernels read them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let sums: UnsafePointer<Float>
        let negatedSums: UnsafePointer<Int32>

        init(_ x: borrowing QuantizedActivations, token: Int) {
            codes = UnsafePointer(x.codes + token * x.cols)
            scales = UnsafePointer(x.scales + token * x.cols / x.groupSize)
            sums = UnsafePointer(x.laneSums + token * x.cols / 4)
            negatedSums = UnsafePointer(x.negatedLaneSums + token * x.cols / 4)
        }
    }

    /// Per-lane partial sums of one activation group: the scaled integer dots and (Q4_1) the
    /// offsets, in two accumulators so the two multiply-adds of a chunk do not wait on each other.
    struct GroupSums<L: ChunkLayout> {
        var dots = _mm512_setzero_ps()
        var offsets = _mm512_setzero_ps()

        /// Adds chunk `c`: `(Σ (codes − 2^s)·x) · scale`, or `(Σ codes·x) · scale + (Σ x) · offset`.
        @inline(__always)
        mutating func add(_ w: QuantizedChunk, _ x: Row, _ c: Int) {
            let activations = _mm512_loadu_si512(x.codes + 64 * c)
            if let shift = L.codeOffsetShift {
                let start = _mm512_slli_epi32(_mm512_loadu_si512(x.negatedSums + 16 * c), shift)
                dots = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, w.codes, activations)), w.scales, dots)
            } else {
                let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.codes, activations)
                dots = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), w.scales, dots)
                offsets = _mm512_fmadd_ps(_mm512_loadu_ps(x.sums + 16 * c), w.offsets, offsets)
            }
        }

        /// `acc + (dots + offsets) · d` for the group's activation scale `d`.
        @inline(__always)
        func scaled(into acc: __m512, _ d: Float) -> __m512 {
            _mm512_fmadd_ps(L.codeOffsetShift == nil ? _mm512_add_ps(dots, offsets) : dots, _mm512_set1_ps(d), acc)
        }
    }

    /// How far ahead of the group being computed its weights are prefetched (the hardware
    /// prefetcher alone leaves the kernels waiting on memory). Measured on the 1.5B target at
    /// 2 threads: 2 KiB 18.2–18.9 tokens/s, 8 KiB 19.6–20.4, 32 KiB 17.6–18.4.
    static let prefetchDistance = 8192

    @inline(__always)
    static func prefetch(_ p: UnsafeRawPointer, _ bytes: Int) {
        var offset = 0
        while offset < bytes {
            cx86_prefetch(p + offset)
            offset += 64
        }
    }

    /// Σ weight·activation over the row at `row` (`cols` weights, activation groups of `group`).
    @inline(__always)
    static func dot<L: ChunkLayout>(_: L.Type, _ row: UnsafeRawPointer, cols: Int, group: Int, _ x: Row) -> Float {
        let chunksPerGroup = group / 64, groupBytes = chunksPerGroup * 2 * L.blockBytes
        var acc = _mm512_setzero_ps()
        for g in 0..<cols / group {
            let start = row + g * groupBytes
            prefetch(start + prefetchDistance, groupBytes)
            var t = GroupSums<L>()
            for k in 0..<chunksPerGroup {
                t.add(L.pair(start + k * 2 * L.blockBytes), x, g * chunksPerGroup + k)
            }
            acc = t.scaled(into: acc, x.scales[g])
        }
        return _mm512_reduce_add_ps(acc)
    }

    /// Four tokens' state in `dot4` and `dot8`: their activations, sums over the current activation group,
    /// and running sums.
    struct Quad<L: ChunkLayout> {
        let x0: Row, x1: Row, x2: Row, x3: Row
        var t0 = GroupSums<L>(), t1 = GroupSums<L>(), t2 = GroupSums<L>(), t3 = GroupSums<L>()
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()

        @inline(__always)
        init(_ x: UnsafePointer<Row>) { (x0, x1, x2, x3) = (x[0], x[1], x[2], x[3]) }

        @inline(__always)
        mutating func add(_ w: QuantizedChunk, _ c: Int) {
            t0.add(w, x0, c)
            t1.add(w, x1, c)
            t2.add(w, x2, c)
            t3.add(w, x3, c)
        }

        /// Ends activation group `g`: each group's sums, scaled, into its token's running sums.
        @inline(__always)
        mutating func finish(_ g: Int) {
            a0 = t0.scaled(into: a0, x0.scales[g])
            a1 = t1.scaled(into: a1, x1.scales[g])
            a2 = t2.scaled(into: a2, x2.scales[g])
            a3 = t3.scaled(into: a3, x3.scales[g])
            (t0, t1, t2, t3) = (GroupSums(), GroupSums(), GroupSums(), GroupSums())
        }

        var totals: SIMD4<Float> {
            @inline(__always) get { SIMD4(_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3)) }
        }
    }

    /// Four dot products of one row (tokens `x[0…3]`), unpacking each chunk once for all four.
    @inline(__always)
    static func dot4<L: ChunkLayout>(_: L.Type, _ row: UnsafeRawPointer, cols: Int, group: Int, _ x: UnsafePointer<Row>) -> SIMD4<Float> {
        let chunksPerGroup = group / 64, groupBytes = chunksPerGroup * 2 * L.blockBytes
        var quad = Quad<L>(x)
        for g in 0..<cols / group {
            let start = row + g * groupBytes
            prefetch(start + prefetchDistance, groupBytes)
            for k in 0..<chunksPerGroup { quad.add(L.pair(start + k * 2 * L.blockBytes), g * chunksPerGroup + k) }
            quad.finish(g)
        }
        return quad.totals
    }

    /// Eight dot products of one row (tokens `x[0…7]`): twice as many tokens per unpacked chunk
    /// as `dot4`.
    @inline(__always)
    static func dot8<L: ChunkLayout>(_: L.Type, _ row: UnsafeRawPointer, cols: Int, group: Int, _ x: UnsafePointer<Row>) -> SIMD8<Float> {
        let chunksPerGroup = group / 64, groupBytes = chunksPerGroup * 2 * L.blockBytes
        var low = Quad<L>(x), high = Quad<L>(x + 4)
        for g in 0..<cols / group {
            let start = row + g * groupBytes
            prefetch(start + prefetchDistance, groupBytes)
            for k in 0..<chunksPerGroup {
                let w = L.pair(start + k * 2 * L.blockBytes), c = g * chunksPerGroup + k
                low.add(w, c)
                high.add(w, c)
            }
            low.finish(g)
            high.finish(g)
        }
        return SIMD8(lowHalf: low.totals, highHalf: high.totals)
    }
}
