#if arch(x86_64)
import CX86

/// A batch of activation vectors quantized to signed bytes for the AVX2 kernels: one scale `d`
/// per group of `groupSize` values (32 for the formats of 32-weight blocks, 256 for the
/// K-quants, as llama.cpp's Q8_0 and Q8_K), `q = round(x / d)` with `d = max|x| / 127`, and the
/// exact Σq of every 16 codes (16-bit), with which a kernel adds a block's offset (Q4_1's minimum, a
/// K-quant's minimums or its −32) once per block instead of once per weight.
///
/// Each vector is quantized on its own, so a token's codes never depend on its batch.
struct ByteActivations: ~Copyable {
    /// One token's activations, as the kernels read them.
    struct Row {
        let codes: UnsafePointer<Int8>
        let scales: UnsafePointer<Float>
        let sums16: UnsafePointer<Int16>
    }

    let batch: Int, cols: Int, groupSize: Int
    private let codes: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let sums16: UnsafeMutablePointer<Int16>

    /// Quantizes `batch` vectors of `cols` floats (`cols` a multiple of `groupSize`, itself of 16).
    init(_ input: UnsafePointer<Float>, batch: Int, cols: Int, groupSize: Int) {
        precondition(cols % groupSize == 0 && groupSize % 16 == 0)
        (self.batch, self.cols, self.groupSize) = (batch, cols, groupSize)
        codes = .allocate(capacity: batch * cols)
        scales = .allocate(capacity: batch * cols / groupSize)
        sums16 = .allocate(capacity: batch * cols / 16)
        for group in 0..<batch * cols / groupSize {
            let x = input + group * groupSize, out = codes + group * groupSize
            var largest: Float = 0
            for i in 0..<groupSize { largest = max(largest, abs(x[i])) }
            let d = largest / 127, inverse = d == 0 ? 0 : 1 / d
            scales[group] = d
            for i in 0..<groupSize { out[i] = Int8((x[i] * inverse).rounded(.toNearestOrEven)) }
            for sixteen in 0..<groupSize / 16 {
                // |Σ| ≤ 16 · 127: a 16-bit lane, as `vpmaddwd` takes it.
                sums16[group * groupSize / 16 + sixteen] = (0..<16).reduce(0) { $0 + Int16(out[16 * sixteen + $1]) }
            }
        }
    }

    /// Token `token`'s activations.
    func row(_ token: Int) -> Row {
        Row(codes: codes + token * cols, scales: scales + token * cols / groupSize, sums16: sums16 + token * cols / 16)
    }

    deinit {
        codes.deallocate()
        scales.deallocate()
        sums16.deallocate()
    }
}
#endif
