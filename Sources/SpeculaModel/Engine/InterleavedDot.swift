import CX86

/// Products of 16 Q4_K rows at once (`InterleavedQ4_K`, a row per lane) with a tile of tokens
/// (`InterleavedActivations`).
///
/// Per sub-block of 32 weights, eight `vpdpbusd` per token (four codes of each of the 16 rows
/// times four activation codes broadcast from memory) leave in each lane the exact Σ q·x of its
/// row; the lanes are turned to floats and multiplied by the rows' `d · sc` into the
/// superblock's sums, and the rows' `−dmin · m` times the token's `d · Σq` go straight into its
/// totals; at the end of a superblock the superblock's sums, times the token's scale `d`, join
/// the totals. Unpacking the nibbles (three instructions per 128 codes) and the scales is shared
/// by the tile. No horizontal sums: the 16 totals are the 16 rows' results.
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
            /// The rows' `d · sc` and `−dmin · m` for the sub-block, and where the token's
            /// `d · Σq` over it is.
            case subBlock(scales: __m512, offsets: __m512, sum: Int)
            /// Where the token's scale for the superblock is.
            case superblock(scale: Int)
        }

        /// The token's first word in its tile.
        let x: UnsafeRawPointer
        var lanes = _mm512_setzero_si512()
        var superblockSums = _mm512_setzero_ps()
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
                superblockSums = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lanes), scales, superblockSums)
                sums = _mm512_fmadd_ps(offsets, _mm512_set1_ps(x.loadUnaligned(fromByteOffset: sum, as: Float.self)), sums)
                lanes = _mm512_setzero_si512()
            case .superblock(let scale):
                sums = _mm512_fmadd_ps(superblockSums, _mm512_set1_ps(x.loadUnaligned(fromByteOffset: scale, as: Float.self)), sums)
                superblockSums = _mm512_setzero_ps()
            }
        }

        /// The group's 16 rows' results.
        var partialSums: __m512 { @inline(__always) get { sums } }
    }

    /// The kernel for one repacked matrix, `superblocks` superblocks a row.
    struct Kernel {
        let superblocks: Int

        /// Rows `16g…16g+15` (the group at `group`) times each token of a `T` tile at `x`: token
        /// i's 16 results go to `y + i · stride`. Never inlined, like `SuperblockDot`'s kernel:
        /// each tile width is a function with the registers to itself.
        @inline(never)
        func products<T: TokenTile>(_: T.Type, group: UnsafeRawPointer, x: UnsafePointer<UnsafeRawPointer>,
                                    into y: UnsafeMutablePointer<Float>, stride: Int) where T.State == Token {
            typealias L = InterleavedQ4_K
            typealias A = InterleavedActivations
            let w = T.width, low = _mm512_set1_epi8(0x0F)
            var tile = T(x)
            for s in 0..<superblocks {
                let block = group + s * L.groupBytes
                IntegerDot.prefetch(block + IntegerDot.prefetchDistance, L.groupBytes)
                let d = _mm512_cvtph_ps(_mm256_loadu_si256(block.assumingMemoryBound(to: __m256i_u.self)))
                let minusDmin = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_cvtph_ps(_mm256_loadu_si256((block + 32).assumingMemoryBound(to: __m256i_u.self))))
                for j in 0..<8 {
                    let codes = block + L.codesOffset + 256 * j
                    for p in 0..<4 {
                        let both = _mm512_loadu_si512(codes + 64 * p)
                        tile.add(Token.Piece(codes: _mm512_and_si512(both, low), offset: A.wordOffset(superblock: s, word: 8 * j + p, width: w)))
                        tile.add(Token.Piece(codes: _mm512_and_si512(_mm512_srli_epi16(both, 4), low),
                                             offset: A.wordOffset(superblock: s, word: 8 * j + p + 4, width: w)))
                    }
                    let sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((block + L.scalesOffset + 16 * j).assumingMemoryBound(to: __m128i_u.self))))
                    let m = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((block + L.minimumsOffset + 16 * j).assumingMemoryBound(to: __m128i_u.self))))
                    tile.end(.subBlock(scales: _mm512_mul_ps(sc, d), offsets: _mm512_mul_ps(m, minusDmin),
                                       sum: A.sumOffset(superblock: s, subBlock: j, width: w)))
                }
                tile.end(.superblock(scale: A.scaleOffset(superblock: s, width: w)))
            }
            var results = TileSums()
            tile.put(into: &results, at: 0)
            for i in 0..<w { _mm512_storeu_ps(y + i * stride, results[i]) }
        }
    }

    /// `Kernel.products` for a tile whose width is known at run time (`TileWidth.run`).
    struct GroupProducts: TileOperation {
        typealias State = Token
        let kernel: Kernel
        let group: UnsafeRawPointer
        let x: UnsafePointer<UnsafeRawPointer>
        let y: UnsafeMutablePointer<Float>
        let stride: Int

        @inline(__always)
        func callAsFunction<T: TokenTile>(_ tile: T.Type) where T.State == Token {
            kernel.products(T.self, group: group, x: x, into: y, stride: stride)
        }
    }
}
