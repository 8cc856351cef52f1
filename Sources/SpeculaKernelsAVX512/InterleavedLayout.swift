#if arch(x86_64)
import CX86

/// A quantized weight format rewritten 16 rows at a time with a row per 32-bit lane, as
/// `InterleavedDot` reads it (`InterleavedQ4_K`, `InterleavedQ6_K`, and the formats of 32-weight
/// blocks through `BlockInterleavedLayout`). Why: see `InterleavedQ4_K`.
///
/// A group of 16 rows keeps its superblocks (`superblockSpan` weights of each row) in order,
/// `groupBytes` each. Within a superblock, sub-block j (`subBlockSpan` weights) yields vectors of
/// 16 rows × 4 unsigned codes, each matched with word `j · subBlockSpan / 4 + c` of a token's
/// codes; the weight of code q in row r is `scales_r · q + offsets_r`, the offset being multiplied
/// by the token's `d · Σq` over the sub-block (`InterleavedActivations`).
protocol InterleavedLayout {
    /// Weights of a row in one superblock (256 for the K-quants, 32 for the formats of 32-weight
    /// blocks); an activation group (`QuantizedActivations.groupSize`) is one or more of them.
    static var superblockSpan: Int { get }
    /// Bytes of one superblock of one group.
    static var groupBytes: Int { get }
    /// Weights of a sub-block (one scale).
    static var subBlockSpan: Int { get }
    /// The factors shared by a superblock's sub-blocks (`d`, `dmin`), decoded once.
    associatedtype Factors
    static func factors(_ block: UnsafeRawPointer) -> Factors
    /// Calls `body` with each vector of codes of sub-block `j` and its word c (0 ..< span / 4).
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void)
    /// The rows' scales and offsets for sub-block `j`.
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Factors, subBlock j: Int) -> (scales: __m512, offsets: __m512)
    /// Bytes of one row's superblock in the file.
    static var fileBlockBytes: Int { get }
    /// Writes row `r`'s superblock from the file, at `block`, into the group's superblock at
    /// `superblock`.
    static func repack(row r: Int, from block: UnsafeRawPointer, into superblock: UnsafeMutableRawPointer)
}

extension InterleavedLayout {
    /// Rows per group: one per 32-bit lane of a 512-bit vector.
    static var rowsPerGroup: Int { 16 }

    /// The 16 rows' f16 values (`d`, `dmin`, `m`) at `p`, as floats.
    @inline(__always)
    static func halves(_ p: UnsafeRawPointer) -> __m512 {
        _mm512_cvtph_ps(_mm256_loadu_si256(p.assumingMemoryBound(to: __m256i_u.self)))
    }

    /// The 16 rows' bytes (sub-block scales, minimums) at `p`.
    @inline(__always)
    static func bytes(_ p: UnsafeRawPointer) -> __m128i {
        _mm_loadu_si128(p.assumingMemoryBound(to: __m128i_u.self))
    }

    /// Scales and offsets of codes stored with a fixed bias (weight = `scale · (q − bias)`).
    @inline(__always)
    static func biased(_ scales: __m512, by bias: Float) -> (scales: __m512, offsets: __m512) {
        (scales, _mm512_mul_ps(scales, _mm512_set1_ps(-bias)))
    }

    /// Writes rows `16g…16g+15` of the file's matrix at `source` (rows of `superblocks` file
    /// blocks) in this layout at `destination + g · superblocks · groupBytes`.
    static func repack(group g: Int, superblocks: Int, from source: UnsafeRawPointer, into destination: UnsafeMutableRawPointer) {
        for s in 0..<superblocks {
            for r in 0..<rowsPerGroup {
                repack(row: r, from: source + ((g * rowsPerGroup + r) * superblocks + s) * fileBlockBytes,
                       into: destination + (g * superblocks + s) * groupBytes)
            }
        }
    }
}

/// A layout of a format of 32-weight blocks with one scale each (Q4_0, Q4_1, Q5_0, Q8_0): a
/// superblock is one block of each of the 16 rows, one sub-block, nothing shared to decode.
protocol BlockInterleavedLayout: InterleavedLayout where Factors == Void {}

extension BlockInterleavedLayout {
    static var superblockSpan: Int { 32 }
    static var subBlockSpan: Int { 32 }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer) {}
}
#endif
