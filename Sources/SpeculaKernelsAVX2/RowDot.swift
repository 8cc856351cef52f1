#if arch(x86_64)
import CX86

/// How many tokens share one reading of a weight row (1 to 4): AVX2 has 16 vector registers, so
/// a tile of four tokens keeps each token's sums and the unpacked block in registers.
protocol TileSize {
    static var count: Int { get }
}

enum OneTokenTile: TileSize { static var count: Int { 1 } }
enum TwoTokenTile: TileSize { static var count: Int { 2 } }
enum ThreeTokenTile: TileSize { static var count: Int { 3 } }
enum FourTokenTile: TileSize { static var count: Int { 4 } }

/// The AVX2 kernel: one weight row against a tile of tokens, block by block (`ByteBlockFormat`),
/// each block decoded once for the tile.
///
/// Batch invariance: a token's sums take the same operations in the same order in every tile
/// (`TokenSums`), so its result never depends on its batch.
enum RowDot {
    /// Σ weight·activation over the row at `row` (`blocks` blocks of `F`) for each of the `T`
    /// tokens at `x`. Never inlined: each (format, tile) is a function with the registers to
    /// itself.
    @inline(never)
    static func dots<F: ByteBlockFormat, T: TileSize>(_: F.Type, _: T.Type, _ row: UnsafeRawPointer, blocks: Int,
                                                       _ x: UnsafePointer<ByteActivations.Row>) -> SIMD4<Float> {
        var s0 = TokenSums(), s1 = TokenSums(), s2 = TokenSums(), s3 = TokenSums()
        for b in 0..<blocks {
            let start = row + b * F.blockBytes
            // The row ahead, a line per 64 bytes of block (the hardware prefetcher alone leaves
            // the products waiting on memory).
            var line = 0
            while line < F.blockBytes {
                cx86_prefetch(start + prefetchDistance + line)
                line += 64
            }
            let block = F.block(start)
            F.add(block, x[0], b, into: &s0)
            if T.count > 1 { F.add(block, x[1], b, into: &s1) }
            if T.count > 2 { F.add(block, x[2], b, into: &s2) }
            if T.count > 3 { F.add(block, x[3], b, into: &s3) }
        }
        return SIMD4(s0.total, T.count > 1 ? s1.total : 0, T.count > 2 ? s2.total : 0, T.count > 3 ? s3.total : 0)
    }

    /// `dots` for a tile of `count` tokens (1…4), chosen at run time.
    @inline(__always)
    static func dots<F: ByteBlockFormat>(_ format: F.Type, count: Int, _ row: UnsafeRawPointer, blocks: Int,
                                         _ x: UnsafePointer<ByteActivations.Row>) -> SIMD4<Float> {
        switch count {
        case 1: dots(F.self, OneTokenTile.self, row, blocks: blocks, x)
        case 2: dots(F.self, TwoTokenTile.self, row, blocks: blocks, x)
        case 3: dots(F.self, ThreeTokenTile.self, row, blocks: blocks, x)
        default: dots(F.self, FourTokenTile.self, row, blocks: blocks, x)
        }
    }

    /// Bytes ahead of the block being read that are prefetched (as the AVX-512 level's kernels).
    static let prefetchDistance = 8192
}
#endif
