#if arch(x86_64)
import CX86

/// A K-quant format (256 weights per superblock, integer sub-block scales) as the integer kernel
/// of `SuperblockDot` reads it: four vectors of 64 unsigned codes arranged so that each 32-bit
/// lane of a `vpdpbusd` sees one sub-block only, a float scale per lane, and the superblock's
/// offsets as one float per 16 weights, to multiply the activations' scaled 16-value sums.
///
/// The arrangement: a superblock is `256 / pieceBytes / 4` sub-blocks of `4 · pieceBytes` weights;
/// vector m holds piece m (`pieceBytes` codes) of every sub-block, in sub-block order, so after the
/// four vectors lane i holds Σ code·x over 16 weights of one sub-block. The activations are
/// stored to match (`QuantizedActivations.CodeOrder.pieceMajor`).
///
/// The weight of code q in lane i's sub-block, 16-weight group g, is `laneScales_i · q + o_g`
/// (llama.cpp's formulas, written anew).
protocol SuperblockLayout {
    associatedtype Block
    /// Bytes of one superblock.
    static var blockBytes: Int { get }
    /// Codes of one sub-block in one vector: 8 for Q4_K (sub-blocks of 32), 4 for Q6_K (16).
    static var pieceBytes: Int { get }
    /// Decodes the scales of superblock `index` of the row at `row`.
    static func block(_ row: UnsafeRawPointer, _ index: Int) -> Block
    /// Vector `m` (0..<4) of unsigned codes.
    static func codes(_ block: Block, _ m: Int) -> __m512i
    /// The scale of each lane's sub-block, `d · sc`, as a float.
    static func laneScales(_ block: Block) -> __m512
    /// The offset `o_g` of each 16-weight group, in natural order (`−dmin·m_j` for Q4_K,
    /// `−32·d·sc_g` for Q6_K).
    static func offsets(_ block: Block) -> __m512
}
#endif
