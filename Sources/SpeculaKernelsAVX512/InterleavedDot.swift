#if arch(x86_64)
import CX86

/// Products of 16 quantized rows at once (`InterleavedLayout`, a row per lane) with a tile of
/// tokens (`InterleavedActivations`).
///
/// Per sub-block (32 weights, 16 for Q6_K), one `vpdpbusd` per four weights and token (four codes
/// of each of the 16 rows times four activation codes broadcast from memory) leaves in each lane
/// the exact Σ q·x of its row; the lanes are turned to floats and multiplied by the rows' scales
/// into the activation group's sums, and the rows' offsets times the token's `d · Σq` go straight
/// into its totals; at the end of an activation group the group's sums, times the token's scale
/// `d`, join the totals. Unpacking codes and scales is shared by the tile. No horizontal sums: the
/// 16 totals are the 16 rows' results.
///
/// Batch invariance: a token's lanes take the same operations in the same order in every tile.
enum InterleavedDot {
    /// One token's state while a group of rows is read.
    struct Token: TokenState {
        /// Four codes of each row of the group, and where the token's four matching codes are
        /// (bytes from its first word).
        struct Piece {
            let codes: __m512i, offset: Int
        }

        enum End {
            /// The rows' scales and offsets for the sub-block (Q4_K: `d · sc`, `−dmin · m`), and
            /// where the token's `d · Σq` over it is.
            case subBlock(scales: __m512, offsets: __m512, sum: Int)
            /// Where the token's scale for the activation group is.
            case activationGroup(scale: Int)
        }

        /// The token's first word in its tile.
        let x: UnsafeRawPointer
        var lanes = _mm512_setzero_si512()
        var groupSums = _mm512_setzero_ps()
        var sums = _mm512_setzero_ps()

        @inline(__always)
        init(_ x: UnsafeRawPointer) { self.x = x }

        @inline(__always)
        mutating func add(_ p: Piece) {
            lanes = _mm512_dpbusd_epi32(lanes, p.codes, _mm512_set1_epi32(x.loadUnaligned(fromByteOffset: p.offset, as: Int32.self)))
        }

        @inline(__always)
        mutating func end(_ end: End) {
            switch end {
            case .subBlock(let scales, let offsets, let sum):
                groupSums = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lanes), scales, groupSums)
                sums = _mm512_fmadd_ps(offsets, _mm512_set1_ps(x.loadUnaligned(fromByteOffset: sum, as: Float.self)), sums)
                lanes = _mm512_setzero_si512()
            case .activationGroup(let scale):
                sums = _mm512_fmadd_ps(groupSums, _mm512_set1_ps(x.loadUnaligned(fromByteOffset: scale, as: Float.self)), sums)
                groupSums = _mm512_setzero_ps()
            }
        }

        /// The group's 16 rows' results.
        var partialSums: __m512 { @inline(__always) get { sums } }
    }

    /// The kernel for one matrix repacked in layout `L`: rows of `groups` activation groups of
    /// `shape.group` weights, each one or more of the layout's superblocks.
    struct Kernel<L: InterleavedLayout> {
        let groups: Int
        let shape: InterleavedActivations.Shape

        init(cols: Int, activationGroup: Int) {
            precondition(activationGroup % L.superblockSpan == 0 && cols % activationGroup == 0)
            groups = cols / activationGroup
            shape = .init(group: activationGroup, span: L.subBlockSpan)
        }

        /// Rows `16g…16g+15` (the group at `group`) times each token of a `T` tile at `x`: token
        /// i's 16 results go to `y + i · stride`. Never inlined, like `SuperblockDot`'s kernel:
        /// each tile width is a function with the registers to itself.
        @inline(never)
        func products<T: TokenTile>(_: T.Type, group: UnsafeRawPointer, x: UnsafePointer<UnsafeRawPointer>,
                                    into y: UnsafeMutablePointer<Float>, stride: Int, prefetch: Bool) where T.State == Token {
            let w = T.width, span = L.subBlockSpan, subBlocks = L.superblockSpan / span
            let superblocksPerGroup = shape.group / L.superblockSpan, lines = (L.groupBytes + 63) / 64
            var tile = T(x)
            var block = group
            for a in 0..<groups {
                for b in 0..<superblocksPerGroup {
                    let factors = L.factors(block)
                    for j in 0..<subBlocks {
                        // The superblock `prefetchDistance` ahead, a share per sub-block: in one
                        // burst per superblock the prefetches stalled the loop.
                        if prefetch {
                            let ahead = block + IntegerDot.prefetchDistance
                            IntegerDot.prefetch(ahead + 64 * (lines * j / subBlocks), 64 * (lines * (j + 1) / subBlocks - lines * j / subBlocks))
                        }
                        let subBlock = b * subBlocks + j
                        L.forEachCodes(block, subBlock: j) { codes, c in
                            tile.add(Token.Piece(codes: codes, offset: shape.wordOffset(group: a, word: span / 4 * subBlock + c, width: w)))
                        }
                        let (scales, offsets) = L.scalesAndOffsets(block, factors, subBlock: j)
                        tile.end(.subBlock(scales: scales, offsets: offsets, sum: shape.sumOffset(group: a, subBlock: subBlock, width: w)))
                    }
                    block += L.groupBytes
                }
                tile.end(.activationGroup(scale: shape.scaleOffset(group: a, width: w)))
            }
            var results = TileSums()
            tile.put(into: &results, at: 0)
            for i in 0..<w { _mm512_storeu_ps(y + i * stride, results[i]) }
        }
    }

    /// `Kernel.products` for a tile whose width is known at run time (`TileWidth.run`).
    struct GroupProducts<L: InterleavedLayout>: TileOperation {
        typealias State = Token
        let kernel: Kernel<L>
        let group: UnsafeRawPointer
        let x: UnsafePointer<UnsafeRawPointer>
        let y: UnsafeMutablePointer<Float>
        let stride: Int
        let prefetch: Bool

        @inline(__always)
        func callAsFunction<T: TokenTile>(_ tile: T.Type) where T.State == Token {
            kernel.products(T.self, group: group, x: x, into: y, stride: stride, prefetch: prefetch)
        }
    }
}
#endif
