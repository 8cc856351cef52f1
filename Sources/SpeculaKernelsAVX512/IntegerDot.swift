#if arch(x86_64)
import CX86

/// Dot products of rows of the 32-weight formats with `QuantizedActivations`, in integers:
/// `vpdpbusd` multiplies 64 weight codes by 64 activation codes into 16 exact 32-bit lane sums,
/// which are then scaled per lane. A format whose weights are `d · (code − 2^s)` (Q4_0, Q5_0,
/// Q8_0) starts those sums at `−2^s · Σx` per lane, so its offset costs no float work; Q4_1's
/// minimums are added in floats through the activations' lane sums.
/// The way llama.cpp's quantized kernels work, written anew; K-quants take `SuperblockDot`.
///
/// Batch invariance: a token's operations are those of its `Token` state, whatever its tile
/// (`TokenTile`), so its result never depends on its batch. Requires AVX-512 VNNI (the build
/// targets the machine's own CPU).
enum IntegerDot {
    /// One token's activations, as the kernels read them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let sums: UnsafePointer<Float>
        let starts: UnsafePointer<Int32>

        init(_ x: borrowing QuantizedActivations, token: Int) {
            codes = UnsafePointer(x.codes + token * x.cols)
            scales = UnsafePointer(x.scales + token * x.cols / x.groupSize)
            sums = UnsafePointer(x.laneSums + token * x.cols / 4)
            starts = UnsafePointer(x.laneStarts + token * x.cols / 4)
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
            if L.codeOffsetShift != nil {
                let start = _mm512_loadu_si512(x.starts + 16 * c)
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

    /// One token's state while a row is read: its sums over the current activation group and
    /// its running sums.
    struct Token<L: ChunkLayout>: TokenState {
        let x: Row
        var group = GroupSums<L>()
        var sums = _mm512_setzero_ps()

        @inline(__always)
        init(_ x: Row) { self.x = x }

        /// Adds chunk `c` of the row, unpacked.
        @inline(__always)
        mutating func add(_ piece: (chunk: QuantizedChunk, c: Int)) { group.add(piece.chunk, x, piece.c) }

        /// Ends activation group `g`: its sums, scaled, into the running sums.
        @inline(__always)
        mutating func end(_ g: Int) {
            sums = group.scaled(into: sums, x.scales[g])
            group = GroupSums()
        }

        var partialSums: __m512 { @inline(__always) get { sums } }
    }

    /// The kernel for rows of `L`, `cols` weights long, with activation groups of `group`.
    struct Kernel<L: ChunkLayout>: TileKernel {
        typealias State = Token<L>
        let cols: Int
        let group: Int

        /// Σ weight·activation over the row at `row` for each token of a `T` tile starting at `x`.
        /// Never inlined: each (layout, tile) specialization is a function of its own with the
        /// registers to itself; inlined into `TileWidth`'s switch, the narrow tiles spilled (a
        /// one-token pass of the 0.5B draft 4 % slower).
        @inline(never)
        func dots<T: TokenTile>(_: T.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Row>) -> SIMD8<Float> where T.State == Token<L> {
            let chunksPerGroup = group / 64, groupBytes = chunksPerGroup * 2 * L.blockBytes
            var tile = T(x)
            for g in 0..<cols / group {
                let start = row + g * groupBytes
                prefetch(start + prefetchDistance, groupBytes)
                for k in 0..<chunksPerGroup { tile.add((L.pair(start + k * 2 * L.blockBytes), g * chunksPerGroup + k)) }
                tile.end(g)
            }
            return tile.totals
        }
    }
}
#endif
