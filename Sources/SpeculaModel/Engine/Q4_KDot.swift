import CX86

/// Dot products of Q4_K rows with `QuantizedActivations` in piece-major order, on `vpdpbusd`:
/// one instruction per 64 codes and token, where `SuperblockDot` takes two (`vpmaddubsw` and
/// `vpdpwssd`), because the codes are arranged so that every 32-bit lane of the sums holds one
/// sub-block only.
///
/// A superblock's 128 bytes of nibbles are four rows of 32 bytes (row k: sub-block 2k in the low
/// nibbles, 2k+1 in the high); the 8-byte piece m of every row, both nibbles, makes vector m, whose
/// qword j is sub-block j's weights 8m…8m+7. After the four vectors each lane holds Σ code·x over
/// 16 weights of one sub-block, at most 16·15·128 < 2^15, so one `vpdpwssd` multiplies every lane
/// by its sub-block scale (as the low 16 bits of the lane, the high 16 multiplied by zero). The
/// activations are stored to match (`QuantizedActivations.CodeOrder.pieceMajor`).
///
/// Batch invariance: a token's operations are those of its `Token` state, whatever its tile.
enum Q4_KDot {
    /// One token's state while a row is read: its integer lanes over the current superblock and
    /// its running float sums.
    struct Token: TokenState {
        /// Vector `m` of superblock `s`, unpacked.
        struct Piece {
            let codes: __m512i, s: Int, m: Int
        }

        /// What closes superblock `s`: its factors and each lane's sub-block scale.
        struct End {
            let factors: SuperblockDot.Factors, laneScales: __m512i, s: Int
        }

        let x: SuperblockDot.Row
        var lanes = _mm512_setzero_si512()
        var sums = SuperblockDot.Sums()

        @inline(__always)
        init(_ x: SuperblockDot.Row) { self.x = x }

        @inline(__always)
        mutating func add(_ p: Piece) {
            lanes = _mm512_dpbusd_epi32(lanes, p.codes, _mm512_loadu_si512(x.codes + 256 * p.s + 64 * p.m))
        }

        @inline(__always)
        mutating func end(_ end: End) {
            let scaled = cx86_dpwssd(_mm512_setzero_si512(), lanes, end.laneScales)
            sums.add(end.factors, integer: scaled, x.scales[end.s], x.scaledSums16 + 16 * end.s)
            lanes = _mm512_setzero_si512()
        }

        var partialSums: __m512 { @inline(__always) get { sums.lanes } }
    }

    /// The kernel for Q4_K rows `cols` weights long.
    struct Kernel: TileKernel {
        typealias State = Token
        let cols: Int

        /// Σ weight·activation over the row at `row` for each token of a `T` tile starting at `x`.
        /// Never inlined, like `SuperblockDot.Kernel.dots`.
        @inline(never)
        func dots<T: TokenTile>(_: T.Type, _ row: UnsafeRawPointer, _ x: UnsafePointer<SuperblockDot.Row>) -> SIMD8<Float> where T.State == Token {
            var tile = T(x)
            for s in 0..<cols / 256 {
                IntegerDot.prefetch(row + s * Q4_KBlock.blockBytes + IntegerDot.prefetchDistance, Q4_KBlock.blockBytes)
                let block = Q4_KBlock.block(row, s)
                let first = _mm512_loadu_si512(block.start + 16), second = _mm512_loadu_si512(block.start + 80)
                for m in 0..<4 { tile.add(Token.Piece(codes: Self.vector(m, first, second), s: s, m: m)) }
                tile.end(Token.End(factors: SuperblockDot.Factors(scale: Q4_KBlock.scaleFactor(block), offsets: Q4_KBlock.offsets(block)),
                                   laneScales: Self.laneScales(block), s: s))
            }
            return tile.totals
        }

        /// Vector `m` from the nibble rows 0–1 (`first`) and 2–3 (`second`): qwords 2k and 2k+1
        /// are piece m of row k, low and high nibbles.
        @inline(__always)
        static func vector(_ m: Int, _ first: __m512i, _ second: __m512i) -> __m512i {
            let q = Int64(m)
            let pick = _mm512_set_epi64(12 + q, 12 + q, 8 + q, 8 + q, 4 + q, 4 + q, q, q)
            let pieces = _mm512_permutex2var_epi64(first, pick, second)
            let shifts = _mm512_set_epi64(4, 0, 4, 0, 4, 0, 4, 0)
            return _mm512_and_si512(_mm512_srlv_epi64(pieces, shifts), ChunkParts.lowNibbles)
        }

        /// Lane i's sub-block scale `sc_{i/2}` in its low 16 bits, zero in its high 16.
        @inline(__always)
        static func laneScales(_ block: Q4_KBlock.Block) -> __m512i {
            let words = _mm512_zextsi128_si512(block.scales)
            // Word 8 is zero.
            let pick = _mm512_set_epi16(8, 7, 8, 7, 8, 6, 8, 6, 8, 5, 8, 5, 8, 4, 8, 4, 8, 3, 8, 3, 8, 2, 8, 2, 8, 1, 8, 1, 8, 0, 8, 0)
            return _mm512_permutexvar_epi16(pick, words)
        }
    }
}
