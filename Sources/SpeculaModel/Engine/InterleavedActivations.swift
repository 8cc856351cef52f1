/// A batch's 8-bit activations arranged for `InterleavedDot`: cut into tiles (`TileWidth`), and
/// in each tile, superblock by superblock, the tokens side by side.
///
/// A superblock of a tile of width w takes `stride(span:) · w` bytes: for each of its 64 words of
/// four codes, the w tokens' words (`256 · w`); for each of its sub-blocks (`span` codes: the
/// weight layout's), the w tokens' `d · Σq` (`4 · w` each); the w tokens' scales `d` (`4 · w`).
/// Everything token t reads is then at the same offset from `start + 4t` as for every other
/// token of its tile, so a tile of eight costs the kernel eight pointers, not twenty-four.
///
/// The codes and scales are `QuantizedActivations`' (groups of 256), moved, not recomputed: a
/// token's numbers do not depend on its tile.
struct InterleavedActivations: ~Copyable {
    /// Tokens `first ..< first + width.rawValue` of the batch, from `start`.
    struct Tile {
        let first: Int
        let width: TileWidth
        let start: UnsafeRawPointer
    }

    let tiles: [Tile]
    private let bytes: UnsafeMutableRawPointer

    /// Bytes of one superblock of one token, with sub-blocks of `span` codes.
    @inline(__always)
    static func stride(span: Int) -> Int { 260 + 1024 / span }

    /// Where word k (codes 4k…4k+3) of superblock s of token 0 is, in a tile of width w.
    @inline(__always)
    static func wordOffset(superblock s: Int, word k: Int, width w: Int, span: Int) -> Int { stride(span: span) * w * s + 4 * w * k }

    /// Where `d · Σq` of sub-block j of superblock s of token 0 is.
    @inline(__always)
    static func sumOffset(superblock s: Int, subBlock j: Int, width w: Int, span: Int) -> Int { stride(span: span) * w * s + 256 * w + 4 * w * j }

    /// Where the scale `d` of superblock s of token 0 is.
    @inline(__always)
    static func scaleOffset(superblock s: Int, width w: Int, span: Int) -> Int { stride(span: span) * w * (s + 1) - 4 * w }

    /// `x`'s tokens in tiles, with the sums of sub-blocks of `span` codes (16 or 32).
    init(_ x: borrowing QuantizedActivations, span: Int) {
        precondition(x.groupSize == 256 && x.codeOrder == .natural && (span == 16 || span == 32),
                     "interleaved products take natural-order groups of 256 and sub-blocks of 16 or 32")
        let superblocks = x.cols / 256, stride = Self.stride(span: span)
        bytes = .allocate(byteCount: stride * x.batch * superblocks, alignment: 64)
        var tiles: [Tile] = []
        var first = 0, offset = 0
        while first < x.batch {
            let width = TileWidth(remaining: x.batch - first), w = width.rawValue
            let start = bytes + offset
            for t in 0..<w {
                let token = first + t
                for s in 0..<superblocks {
                    let group = token * superblocks + s
                    let codes = UnsafeRawPointer(x.codes + 256 * group)
                    for k in 0..<64 {
                        start.storeBytes(of: codes.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self),
                                         toByteOffset: Self.wordOffset(superblock: s, word: k, width: w, span: span) + 4 * t, as: UInt32.self)
                    }
                    for j in 0..<256 / span {
                        let lanes = x.laneSums + 64 * group + span / 4 * j
                        var sum: Float = 0
                        for i in 0..<span / 4 { sum += lanes[i] }
                        start.storeBytes(of: x.scales[group] * sum, toByteOffset: Self.sumOffset(superblock: s, subBlock: j, width: w, span: span) + 4 * t, as: Float.self)
                    }
                    start.storeBytes(of: x.scales[group], toByteOffset: Self.scaleOffset(superblock: s, width: w, span: span) + 4 * t, as: Float.self)
                }
            }
            tiles.append(Tile(first: first, width: width, start: UnsafeRawPointer(start)))
            first += w
            offset += stride * w * superblocks
        }
        self.tiles = tiles
    }

    deinit { bytes.deallocate() }
}
