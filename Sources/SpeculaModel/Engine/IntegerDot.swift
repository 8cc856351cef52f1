import CX86

/// Dot products of rows of the 32-weight formats with `QuantizedActivations`, in integers:
/// `vpdpbusd` multiplies 64 weight codes by 64 activation codes into 16 exact 32-bit lane sums,
/// which are then scaled per lane and the offsets added through the activations' lane sums.
/// The way llama.cpp's quantized kernels work, written anew; K-quants take `SuperblockDot`.
///
/// Batch invariance: each output takes the same operations in the same order whether it is
/// computed alone (`dot`) or with three others (`dot4`), so a token's result never depends on its
/// batch. Requires AVX-512 VNNI (the build targets the machine's own CPU).
enum IntegerDot {
    /// One token's activations, as the kernels read them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let sums: UnsafePointer<Float>

        init(_ x: borrowing QuantizedActivations, token: Int) {
            codes = UnsafePointer(x.codes + token * x.cols)
            scales = UnsafePointer(x.scales + token * x.cols / x.groupSize)
            sums = UnsafePointer(x.laneSums + token * x.cols / 4)
        }
    }

    /// Per-lane partial sums of one activation group: the scaled integer dots and the offsets,
    /// in two accumulators so the two multiply-adds of a chunk do not wait on each other.
    struct GroupSums {
        var dots = _mm512_setzero_ps()
        var offsets = _mm512_setzero_ps()

        /// Adds chunk `c`: `(Σ codes·x) · scale` and `(Σ x) · offset` per lane.
        @inline(__always)
        mutating func add(_ w: QuantizedChunk, _ x: Row, _ c: Int) {
            let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.codes, _mm512_loadu_si512(x.codes + 64 * c))
            dots = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), w.scales, dots)
            offsets = _mm512_fmadd_ps(_mm512_loadu_ps(x.sums + 16 * c), w.offsets, offsets)
        }

        /// `acc + (dots + offsets) · d` for the group's activation scale `d`.
        @inline(__always)
        func scaled(into acc: __m512, _ d: Float) -> __m512 {
            _mm512_fmadd_ps(_mm512_add_ps(dots, offsets), _mm512_set1_ps(d), acc)
        }
    }

    /// How far ahead of the group being computed its weights are prefetched (the hardware
    /// prefetcher alone leaves the kernels waiting on memory).
    static let prefetchDistance = 2048

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
            var t = GroupSums()
            for k in 0..<chunksPerGroup {
                t.add(L.pair(start + k * 2 * L.blockBytes), x, g * chunksPerGroup + k)
            }
            acc = t.scaled(into: acc, x.scales[g])
        }
        return _mm512_reduce_add_ps(acc)
    }

    /// Four dot products of one row, unpacking each chunk once; each output takes exactly the
    /// operations of `dot`.
    @inline(__always)
    static func dot4<L: ChunkLayout>(_: L.Type, _ row: UnsafeRawPointer, cols: Int, group: Int, _ x0: Row, _ x1: Row, _ x2: Row, _ x3: Row) -> SIMD4<Float> {
        let chunksPerGroup = group / 64, groupBytes = chunksPerGroup * 2 * L.blockBytes
        var a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps()
        for g in 0..<cols / group {
            let start = row + g * groupBytes
            prefetch(start + prefetchDistance, groupBytes)
            var t0 = GroupSums(), t1 = GroupSums(), t2 = GroupSums(), t3 = GroupSums()
            for k in 0..<chunksPerGroup {
                let w = L.pair(start + k * 2 * L.blockBytes), c = g * chunksPerGroup + k
                t0.add(w, x0, c)
                t1.add(w, x1, c)
                t2.add(w, x2, c)
                t3.add(w, x3, c)
            }
            a0 = t0.scaled(into: a0, x0.scales[g])
            a1 = t1.scaled(into: a1, x1.scales[g])
            a2 = t2.scaled(into: a2, x2.scales[g])
            a3 = t3.scaled(into: a3, x3.scales[g])
        }
        return SIMD4(_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3))
    }
}
