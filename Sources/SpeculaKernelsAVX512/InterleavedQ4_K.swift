#if arch(x86_64)
import CX86
import SpeculaKernels

/// Q4_K rows rewritten sixteen at a time so that each 32-bit lane of a vector belongs to one row
/// (`InterleavedLayout`; llama.cpp's "repacked" CPU buffers follow the same idea, this layout is
/// our own).
///
/// In the file's layout a row is read on its own and a token's 16 partial sums must be added up
/// at the end; with a row per lane, one `vpdpbusd` multiplies four weights of each of 16 rows by
/// four activation codes broadcast to every lane, the sub-block scales of the 16 rows are one
/// vector, and the 16 results leave the kernel as one store. Per weight and token that is about
/// half the instructions of `SuperblockDot`.
///
/// Superblock s of group g is `groupBytes` at `(g · superblocks + s) · groupBytes`:
///
/// | bytes | what |
/// |---|---|
/// | 0–31 | `d` of rows 0…15 (f16, as in the file) |
/// | 32–63 | `dmin` of rows 0…15 (f16) |
/// | 64–191 | `sc` of sub-block j for rows 0…15 at 64 + 16j (unsigned bytes, the 6-bit values) |
/// | 192–319 | `m` of sub-block j for rows 0…15 at 192 + 16j |
/// | 320–2367 | codes of sub-block j at 320 + 256j: four vectors p = 0…3; byte 4r + k of vector p holds code 4p + k of row r in its low nibble and code 4p + 16 + k in its high one |
///
/// Weight `i` of sub-block `j` of row r is `d_r · sc_rj · q − dmin_r · m_rj`, as in the file:
/// nothing is rounded when repacking.
enum InterleavedQ4_K: InterleavedLayout {
    /// 16 × 144 bytes in the file, plus 64 for spelling out the 6-bit scales as bytes.
    static var groupBytes: Int { 2368 }
    static var fileBlockBytes: Int { 144 }
    static var superblockSpan: Int { 256 }
    static var subBlockSpan: Int { 32 }
    static let scalesOffset = 64
    static let minimumsOffset = 192
    static let codesOffset = 320

    /// `d` and `−dmin` of the 16 rows.
    struct Factors {
        let d: __m512, minusDmin: __m512
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer) -> Factors {
        Factors(d: halves(block),
                minusDmin: _mm512_sub_ps(_mm512_setzero_ps(), halves(block + 32)))
    }

    @inline(__always)
    static func forEachCodes(_ block: UnsafeRawPointer, subBlock j: Int, _ body: (__m512i, Int) -> Void) {
        InterleavedNibbles.forEachCodes(block + codesOffset + 256 * j, body)
    }

    @inline(__always)
    static func scalesAndOffsets(_ block: UnsafeRawPointer, _ factors: Factors, subBlock j: Int) -> (scales: __m512, offsets: __m512) {
        let sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes(block + scalesOffset + 16 * j)))
        let m = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes(block + minimumsOffset + 16 * j)))
        return (_mm512_mul_ps(sc, factors.d), _mm512_mul_ps(m, factors.minusDmin))
    }

    static func repack(row r: Int, from block: UnsafeRawPointer, into out: UnsafeMutableRawPointer) {
        out.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * r, as: UInt16.self)
        out.storeBytes(of: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self), toByteOffset: 32 + 2 * r, as: UInt16.self)
        let scales = (block + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<8 {
            let (sc, m) = Dequantize.scaleMinK4(j, scales)
            out.storeBytes(of: sc, toByteOffset: scalesOffset + 16 * j + r, as: UInt8.self)
            out.storeBytes(of: m, toByteOffset: minimumsOffset + 16 * j + r, as: UInt8.self)
            // The file keeps sub-blocks 2k and 2k+1 in the low and high nibbles of 32 bytes;
            // codes 4p…4p+3 and 4p+16…4p+19 of sub-block j, four at a time.
            let shift = UInt32(4 * (j % 2)), nibbles: UInt32 = 0x0F0F_0F0F
            for p in 0..<4 {
                let at = block + 16 + 32 * (j / 2) + 4 * p
                let low = (at.loadUnaligned(as: UInt32.self) >> shift) & nibbles
                let high = (at.loadUnaligned(fromByteOffset: 16, as: UInt32.self) >> shift) & nibbles
                out.storeBytes(of: low | high << 4, toByteOffset: codesOffset + 256 * j + 64 * p + 4 * r, as: UInt32.self)
            }
        }
    }
}
#endif
