#if arch(x86_64)
import CX86

/// A batch of activation vectors quantized to 8 bits for the integer kernels of `IntegerDot`:
/// one scale per group of `groupSize` values (256 when the length allows, as llama.cpp's Q8_K,
/// else 128 or 64), `q = round(x · (1/d))` with `d = max|x| / 127`.
///
/// Besides the codes it keeps Σq over each 4 codes (one 32-bit lane of a `vpdpbusd`) and `d·Σq` over
/// each 16, so the kernels add a weight block's offset (`−8·d`, a K-quant's minimums, …) from sums
/// instead of per weight. Each vector is quantized on its own, so a token's codes never depend on
/// its batch.
struct QuantizedActivations: ~Copyable {
    /// How the codes of each group of 256 are arranged (lane sums and scaled sums always follow
    /// the natural order).
    enum CodeOrder: Equatable {
        /// As the input.
        case natural
        /// In each group of 256, sub-blocks of `4 · pieceBytes` codes cut into four pieces;
        /// piece m of sub-block j (code `4·pieceBytes·j + pieceBytes·m`) stored m-major, at
        /// `64m + pieceBytes·j`: the order `SuperblockDot` reads (`SuperblockLayout`).
        case pieceMajor(pieceBytes: Int)
    }

    let batch: Int
    let cols: Int
    let groupSize: Int
    let codeOrder: CodeOrder
    /// `batch × cols` signed codes.
    let codes: UnsafeMutablePointer<Int8>
    /// `batch × cols/groupSize` scales `d`.
    let scales: UnsafeMutablePointer<Float>
    /// `batch × cols/4`: Σq over each lane's 4 codes (small integers, exact in a `Float`).
    let laneSums: UnsafeMutablePointer<Float>
    /// `batch × cols/4`: `−2^s · Σq` over each lane's 4 codes, where the integer kernels of a
    /// format whose codes are offset by `2^s` (`ChunkLayout.codeOffsetShift`) start their sums:
    /// shifted once here rather than in every product.
    let laneStarts: UnsafeMutablePointer<Int32>
    /// `batch × cols/16`: `d · Σq` over each 16 codes, the activation side of a K-quant offset.
    let scaledSums16: UnsafeMutablePointer<Float>

    /// The group size used for rows of `cols` values (a multiple of 64). Larger groups cost fewer
    /// scale steps per product: 128 instead of 64 made the 0.5B draft's passes (rows of 896) 4 %
    /// faster for one token, 13 % for five, on one thread.
    static func groupSize(cols: Int) -> Int { cols % 256 == 0 ? 256 : cols % 128 == 0 ? 128 : 64 }

    /// Quantizes `batch` vectors of `cols` floats (`cols` a multiple of 64) starting at `input`.
    init(_ input: UnsafePointer<Float>, batch: Int, cols: Int, codeOrder: CodeOrder = .natural, codeOffsetShift: UInt32 = 0) {
        precondition(cols % 64 == 0, "quantized activations need whole chunks of 64")
        let g = Self.groupSize(cols: cols)
        if case .pieceMajor = codeOrder { precondition(g == 256, "piece-major codes need groups of 256") }
        self.batch = batch
        self.cols = cols
        self.groupSize = g
        self.codeOrder = codeOrder
        codes = .allocate(capacity: batch * cols)
        scales = .allocate(capacity: batch * cols / g)
        laneSums = .allocate(capacity: batch * cols / 4)
        laneStarts = .allocate(capacity: batch * cols / 4)
        scaledSums16 = .allocate(capacity: batch * cols / 16)
        for group in 0..<batch * cols / g {
            let x = input + group * g
            var largest = _mm512_setzero_ps()
            for i in stride(from: 0, to: g, by: 16) { largest = _mm512_max_ps(largest, _mm512_abs_ps(_mm512_loadu_ps(x + i))) }
            let d = _mm512_reduce_max_ps(largest) / 127
            let inverse = _mm512_set1_ps(d == 0 ? 0 : 1 / d)
            scales[group] = d
            let out = codes + group * g
            for i in stride(from: 0, to: g, by: 16) {
                // Rounds to nearest, ties to even (the default rounding mode); |q| ≤ 127.
                let q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), inverse))
                _mm_storeu_si128(UnsafeMutableRawPointer(out + i).assumingMemoryBound(to: __m128i_u.self), _mm512_cvtsepi32_epi8(q))
            }
            for lane in 0..<g / 4 {
                let c = out + 4 * lane
                let sum = Int32(c[0]) + Int32(c[1]) + Int32(c[2]) + Int32(c[3])
                laneSums[group * g / 4 + lane] = Float(sum)
                laneStarts[group * g / 4 + lane] = -(sum << codeOffsetShift)
            }
            for sixteen in 0..<g / 16 {
                let l = laneSums + group * g / 4 + 4 * sixteen
                scaledSums16[group * g / 16 + sixteen] = d * (l[0] + l[1] + l[2] + l[3])
            }
            if case .pieceMajor(let pieceBytes) = codeOrder { Self.arrangePieceMajor(out, pieceBytes: pieceBytes) }
        }
    }

    /// Rearranges the 256 codes at `codes` from natural to piece-major order, through a copy on
    /// the stack (this runs for every group of every K-quant product).
    private static func arrangePieceMajor(_ codes: UnsafeMutablePointer<Int8>, pieceBytes: Int) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { natural in
            let source = natural.baseAddress!
            source.update(from: codes, count: 256)
            for j in 0..<64 / pieceBytes {
                for m in 0..<4 { (codes + 64 * m + pieceBytes * j).update(from: source + 4 * pieceBytes * j + pieceBytes * m, count: pieceBytes) }
            }
        }
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        laneSums.deallocate()
        laneStarts.deallocate()
        scaledSums16.deallocate()
    }
}
#endif
