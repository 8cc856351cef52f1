#if arch(x86_64)
import CX86

/// The codes of 32 weights of 16 rows stored as four vectors of nibbles, vector p holding codes
/// 4p…4p+3 of each row in its low nibbles and 4p+16…4p+19 in its high ones: the shape the 4-bit
/// layouts share (`InterleavedQ4_K`'s sub-blocks, `InterleavedQ4_0`, `InterleavedQ4_1`; the
/// files' own Q4_0/Q4_1 bytes already are these vectors, row by row).
enum InterleavedNibbles {
    /// Calls `body` with the codes of words 0…7 of the 32 weights whose vectors are at `vectors`.
    @inline(__always)
    static func forEachCodes(_ vectors: UnsafeRawPointer, _ body: (__m512i, Int) -> Void) {
        let low = _mm512_set1_epi8(0x0F)
        for p in 0..<4 {
            let both = _mm512_loadu_si512(vectors + 64 * p)
            body(_mm512_and_si512(both, low), p)
            body(_mm512_and_si512(_mm512_srli_epi16(both, 4), low), p + 4)
        }
    }

    /// Writes row `r`'s 16 bytes of nibbles at `source` (the file's Q4_0/Q4_1 order) into the
    /// four vectors at `vectors`.
    @inline(__always)
    static func store(row r: Int, from source: UnsafeRawPointer, into vectors: UnsafeMutableRawPointer) {
        for p in 0..<4 {
            vectors.storeBytes(of: source.loadUnaligned(fromByteOffset: 4 * p, as: UInt32.self), toByteOffset: 64 * p + 4 * r, as: UInt32.self)
        }
    }
}
#endif
