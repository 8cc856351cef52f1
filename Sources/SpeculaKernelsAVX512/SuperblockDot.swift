#if arch(x86_64)
import CX86

/// Dot products of K-quant rows (`SuperblockLayout`: Q4_K, Q6_K) with `QuantizedActivations`
/// (groups of 256, one per superblock, codes in the layout's piece-major order), in integers and
/// then floats: four `vpdpbusd` per superblock and token leave in each 32-bit lane the exact
/// Σ code·x of 16 weights of one sub-block; one multiply by the lanes' scales `d · sc`, one
/// multiply-add by the activation scale `d_x` and one multiply-add of the offsets with the
/// activations' scaled 16-value sums close the superblock. Eight instructions per superblock
/// and token, against twelve for llama.cpp's formulation (`vpmaddubsw` and a 16-bit scale
/// multiply-add per 64 codes), which this replaces.
///
/// Batch invariance: a token's operations are those of its `Token` state, whatever its tile.
enum SuperblockDot {
    /// One token's activations, as this kernel reads them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let scaledSums16: UnsafePointer<Float>

        /// Token `token` of `x`, whose codes must be in `L`'s piece-major order.
        init<L: SuperblockLayout>(_: L.Type, _ x: borrowing QuantizedActivations, token: Int) {
            precondition(x.groupSize == 256 && x.codeOrder == .pieceMajor(pieceBytes: L.pieceBytes),
                         "K-quant rows take activation groups of 256 in their layout's piece-major order")
            codes = UnsafePointer(x.codes + token * x.cols)
            scales = UnsafePointer(x.scales + token * x.cols / 256)
            scaledSums16 = UnsafePointer(x.scaledSums16 + token * x.cols / 16)
        }
    }

    /// What one superblock of a row contributes to every token, decoded once per row and
    /// superblock: the scale of each lane and the offset of each 16-weight group.
    struct Factors {
        let laneScales: __m512
        let offsets: __m512
    }

    /// One token's state while a row is read: its integer lanes over the current superblock and
    /// its running float sums.
    struct Token: TokenState {
        /// Vector `m` of superblock `s`'s codes.
        struct Piece {
            let codes: __m512i, s: Int, m: Int
        }

        let x: Row
        var lanes = _mm512_setzero_si512()
        var sums = _mm512_setzero_ps()

        @inline(__always)
        init(_ x: Row) { self.x = x }

        @inline(__always)
        mutating func add(_ p: Piece) {
            lanes = _mm512_dpbusd_epi32(lanes, p.codes, _mm512_loadu_si512(x.codes + 256 * p.s + 64 * p.m))
        }

        /// Ends superblock `s`.
        @inline(__always)
        mutating func end(_ end: (factors: Factors, s: Int)) {
            let scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(lanes), end.factors.laneScales)
            sums = _mm512_fmadd_ps(scaled, _mm512_set1_ps(x.scales[end.s]), sums)
            sums = _mm512_fmadd_ps(end.factors.offsets, _mm512_loadu_ps(x.scaledSums16 + 16 * end.s), sums)
            lanes = _mm512_setzero_si512()
        }

        var partialSums: __m512 { @inline(__always) get { sums } }
    }

    /// The kernel for rows of `L`, `cols` weights long.
    struct Kernel<L: SuperblockLayout>: TileKernel {
        typealias State = Token
        let cols: Int

        /// Σ weight·activation over the row at `row` for each token of a `T` tile starting at `x`.
        /// Never inlined: each (layout, tile) specialization is a function of its own with the
        /// registers to itself; inlined into `TileWidth`'s switch, the narrow tiles spilled (a
        /// one-token pass of the 0.5B draft 4 % slower).
        @inline(never)
        func dots<T: TokenTile>(_: T.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<Row>) -> SIMD8<Float> where T.State == Token {
            var tile = T(x)
            for s in 0..<cols / 256 {
                IntegerDot.prefetch(row + s * L.blockBytes + IntegerDot.prefetchDistance, L.blockBytes)
                let block = L.block(row, s)
                for m in 0..<4 { tile.add(Token.Piece(codes: L.codes(block, m), s: s, m: m)) }
                tile.end((Factors(laneScales: L.laneScales(block), offsets: L.offsets(block)), s))
            }
            return tile.totals
        }
    }
}
#endif
