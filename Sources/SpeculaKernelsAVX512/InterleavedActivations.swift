#if arch(x86_64)
/// A batch's 8-bit activations arranged for `InterleavedDot`: cut into tiles (`TileWidth`), and
/// in each tile, activation group by activation group (a weight layout's superblock), the tokens
/// side by side.
///
/// A group of a tile of width w takes `shape.stride · w` bytes: for each of its words of four
/// codes, the w tokens' words; for each of its sub-blocks (the weight layout's), the w tokens'
/// `d · Σq` (4 bytes each); the w tokens' scales `d`. Everything token t reads is then at the
/// same offset from `start + 4t` as for every other token of its tile, so a tile of eight costs
/// the kernel eight pointers, not twenty-four.
///
/// The codes and scales are `QuantizedActivations`', moved, not recomputed: a token's numbers do
/// not depend on its tile.
struct InterleavedActivations: ~Copyable {
    /// Tokens `first ..< first + width.rawValue` of the batch, from `start`.
    struct Tile {
        let first: Int
        let width: TileWidth
        let start: UnsafeRawPointer
    }

    /// Codes per activation group and per sub-block, and where things are for token 0 of a tile
    /// of width w.
    struct Shape {
        let group: Int, span: Int

        /// Bytes of one group of one token.
        var stride: Int { @inline(__always) get { group + 4 * (group / span) + 4 } }

        /// Word k (codes 4k…4k+3) of group s.
        @inline(__always)
        func wordOffset(group s: Int, word k: Int, width w: Int) -> Int { stride * w * s + 4 * w * k }

        /// `d · Σq` of sub-block j of group s.
        @inline(__always)
        func sumOffset(group s: Int, subBlock j: Int, width w: Int) -> Int { stride * w * s + group * w + 4 * w * j }

        /// The scale `d` of group s.
        @inline(__always)
        func scaleOffset(group s: Int, width w: Int) -> Int { stride * w * (s + 1) - 4 * w }
    }

    let tiles: [Tile]
    private let bytes: UnsafeMutableRawPointer

    /// `x`'s tokens in tiles; `shape.group` must be `x`'s group size.
    init(_ x: borrowing QuantizedActivations, shape: Shape) {
        precondition(x.groupSize == shape.group && x.codeOrder == .natural && shape.group % shape.span == 0 && shape.span % 4 == 0,
                     "interleaved products take natural-order codes in groups of whole sub-blocks")
        let groups = x.cols / shape.group, g = shape.group, span = shape.span
        bytes = .allocate(byteCount: shape.stride * x.batch * groups, alignment: 64)
        var tiles: [Tile] = []
        var first = 0, offset = 0
        while first < x.batch {
            let width = TileWidth(remaining: x.batch - first), w = width.rawValue
            let start = bytes + offset
            for t in 0..<w {
                let token = first + t
                for s in 0..<groups {
                    let group = token * groups + s
                    let codes = UnsafeRawPointer(x.codes + g * group)
                    for k in 0..<g / 4 {
                        start.storeBytes(of: codes.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self),
                                         toByteOffset: shape.wordOffset(group: s, word: k, width: w) + 4 * t, as: UInt32.self)
                    }
                    for j in 0..<g / span {
                        let lanes = x.laneSums + g / 4 * group + span / 4 * j
                        var sum: Float = 0
                        for i in 0..<span / 4 { sum += lanes[i] }
                        start.storeBytes(of: x.scales[group] * sum, toByteOffset: shape.sumOffset(group: s, subBlock: j, width: w) + 4 * t, as: Float.self)
                    }
                    start.storeBytes(of: x.scales[group], toByteOffset: shape.scaleOffset(group: s, width: w) + 4 * t, as: Float.self)
                }
            }
            tiles.append(Tile(first: first, width: width, start: UnsafeRawPointer(start)))
            first += w
            offset += shape.stride * w * groups
        }
        self.tiles = tiles
    }

    deinit { bytes.deallocate() }
}
#endif
