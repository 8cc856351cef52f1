#if arch(x86_64)
import CX86

/// How many tokens share one reading of a weight row (1 to 8). Eight tokens' sums and a decoded
/// K-quant block overflow AVX2's 16 registers, and still run faster than four (passes of 8 tokens
/// on the 1.5B 1.2–1.4×, side by side).
protocol TileSize {
    static var count: Int { get }
}

enum OneTokenTile: TileSize { static var count: Int { 1 } }
enum TwoTokenTile: TileSize { static var count: Int { 2 } }
enum ThreeTokenTile: TileSize { static var count: Int { 3 } }
enum FourTokenTile: TileSize { static var count: Int { 4 } }
enum FiveTokenTile: TileSize { static var count: Int { 5 } }
enum SixTokenTile: TileSize { static var count: Int { 6 } }
enum SevenTokenTile: TileSize { static var count: Int { 7 } }
enum EightTokenTile: TileSize { static var count: Int { 8 } }

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
                                                       _ x: UnsafePointer<ByteActivations.Row>) -> SIMD8<Float> {
        var s0 = TokenSums(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0
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
            if T.count > 4 { F.add(block, x[4], b, into: &s4) }
            if T.count > 5 { F.add(block, x[5], b, into: &s5) }
            if T.count > 6 { F.add(block, x[6], b, into: &s6) }
            if T.count > 7 { F.add(block, x[7], b, into: &s7) }
        }
        var totals = SIMD8<Float>()
        totals[0] = s0.total
        if T.count > 1 { totals[1] = s1.total }
        if T.count > 2 { totals[2] = s2.total }
        if T.count > 3 { totals[3] = s3.total }
        if T.count > 4 { totals[4] = s4.total }
        if T.count > 5 { totals[5] = s5.total }
        if T.count > 6 { totals[6] = s6.total }
        if T.count > 7 { totals[7] = s7.total }
        return totals
    }

    /// `dots` for a tile of `count` tokens (1…8), chosen at run time.
    @inline(__always)
    static func dots<F: ByteBlockFormat>(_ format: F.Type, count: Int, _ row: UnsafeRawPointer, blocks: Int,
                                         _ x: UnsafePointer<ByteActivations.Row>) -> SIMD8<Float> {
        switch count {
        case 1: dots(F.self, OneTokenTile.self, row, blocks: blocks, x)
        case 2: dots(F.self, TwoTokenTile.self, row, blocks: blocks, x)
        case 3: dots(F.self, ThreeTokenTile.self, row, blocks: blocks, x)
        case 4: dots(F.self, FourTokenTile.self, row, blocks: blocks, x)
        case 5: dots(F.self, FiveTokenTile.self, row, blocks: blocks, x)
        case 6: dots(F.self, SixTokenTile.self, row, blocks: blocks, x)
        case 7: dots(F.self, SevenTokenTile.self, row, blocks: blocks, x)
        default: dots(F.self, EightTokenTile.self, row, blocks: blocks, x)
        }
    }

    /// Bytes ahead of the block being read that are prefetched (as the AVX-512 level's kernels).
    static let prefetchDistance = 8192
}
#endif
