import CX86

/// Dot products of K-quant rows (`SuperblockLayout`: Q6_K) with `QuantizedActivations` (groups of
/// 256, one per superblock), in integers: `vpmaddubsw` multiplies 64 codes by 64 activation codes into 32 pair sums,
/// `vpdpwssd` scales them by the sub-block scales and accumulates exact 32-bit sums over the
/// superblock; a float multiply and multiply-add per superblock apply `d · d_x`, and one more
/// multiply-add adds the offsets from the activations' scaled 16-value sums. llama.cpp's K-quant
/// kernels, written anew. Q4_K takes `Q4_KDot`, which needs one multiply instead of two per 64
/// codes and shares the float end of a superblock (`Factors`, `Sums`).
///
/// Batch invariance: a token's operations are those of its `Token` state, whatever its tile.
enum SuperblockDot {
    /// One token's activations, as this kernel and `Q4_KDot` read them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let scaledSums16: UnsafePointer<Float>

        /// Token `token` of `x`, whose codes must be in the `order` the kernel reads.
        init(_ x: borrowing QuantizedActivations, token: Int, order: QuantizedActivations.CodeOrder) {
            precondition(x.groupSize == 256 && x.codeOrder == order, "K-quant rows take activation groups of 256 in the kernel's order")
            codes = UnsafePointer(x.codes + token * x.cols)
            scales = UnsafePointer(x.scales + token * x.cols / 256)
            scaledSums16 = UnsafePointer(x.scaledSums16 + token * x.cols / 16)
        }
    }

    /// What one superblock of a row contributes to every token: its scale `d` (broadcast) and the
    /// offsets of its 16-weight groups, decoded once per row and superblock.
    struct Factors {
        let scale: __m512
        let offsets: __m512

        @inline(__always)
        init(scale: Float, offsets: __m512) {
            self.scale = _mm512_set1_ps(scale)
            self.offsets = offsets
        }
    }

    /// A token's running sum over 16 lanes.
    struct Sums {
        var lanes = _mm512_setzero_ps()

        /// Adds superblock `s`: its integer dot `integer` (already summed over the 4 chunks)
        /// times `d · d_x`, and the group offsets times the activations' scaled sums.
        @inline(__always)
        mutating func add(_ f: Factors, integer: __m512i, _ activationScale: Float, _ scaledSums16: UnsafePointer<Float>) {
            let scaled = _mm512_mul_ps(_mm512_cvtepi32_ps(integer), f.scale)
            lanes = _mm512_fmadd_ps(scaled, _mm512_set1_ps(activationScale), lanes)
            lanes = _mm512_fmadd_ps(f.offsets, _mm512_loadu_ps(scaledSums16), lanes)
        }

    }

    /// Σ codes·x over chunk `k` of superblock `s`, scaled by the sub-block scales, added to `acc`.
    @inline(__always)
    private static func chunkProduct(_ acc: __m512i, codes: __m512i, scales: __m512i, _ x: Row, _ s: Int, _ k: Int) -> __m512i {
        let pairs = _mm512_maddubs_epi16(codes, _mm512_loadu_si512(x.codes + 256 * s + 64 * k))
        return cx86_dpwssd(acc, pairs, scales)
    }

    /// One token's state while a row is read: its integer sum over the current superblock and
    /// its running sums.
    struct Token: TokenState {
        /// Chunk `k` of superblock `s`, unpacked.
        struct Piece {
            let codes: __m512i, scales: __m512i, s: Int, k: Int
        }

        let x: Row
        var integer = _mm512_setzero_si512()
        var sums = Sums()

        @inline(__always)
        init(_ x: Row) { self.x = x }

        @inline(__always)
        mutating func add(_ p: Piece) { integer = chunkProduct(integer, codes: p.codes, scales: p.scales, x, p.s, p.k) }

        /// Ends superblock `s`: the integer sum into the running sums.
        @inline(__always)
        mutating func end(_ end: (factors: Factors, s: Int)) {
            sums.add(end.factors, integer: integer, x.scales[end.s], x.scaledSums16 + 16 * end.s)
            integer = _mm512_setzero_si512()
        }

        var partialSums: __m512 { @inline(__always) get { sums.lanes } }
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
                for k in 0..<4 { tile.add(Token.Piece(codes: L.codes(block, k), scales: L.scales(block, k), s: s, k: k)) }
                tile.end((Factors(scale: L.scaleFactor(block), offsets: L.offsets(block)), s))
            }
            return tile.totals
        }
    }
}
