import SpeculaCore
package import SpeculaKernels

/// A draft's output head that computes exact logits for a few candidate tokens only: the `count`
/// rows a one-bit sketch of the output matrix ranks highest for the hidden state. Every other
/// token gets a logit of −∞, so the draft's distribution lives on those candidates.
///
/// Why: a worker ships only its `maxSupport` (64) likeliest tokens per position (design.md,
/// "Sparse distributions"), yet the full output matrix — the Qwen 0.5B's 151,936 × 896 weights,
/// the largest tensor of a small model — is read for every drafted token, a quarter of a worker's
/// time. The sketch holds one sign bit per weight and a scale per row (17 MB instead of 145 MB
/// in Q8_0): score(r) = scale_r · Σ_c sign(W[r, c]) · x_c. The candidates' logits are then
/// exact (the file's rows dequantized, dot products in floats).
///
/// How well the sketch ranks depends on the model (`CandidateOutputTests`, 33–35 positions of a
/// code and prose prompt, 256 candidates): for the Qwen 0.5B the full head's argmax was a
/// candidate at 32 of 33 positions, 53 of its top 64 on average, 94 % of its probability at
/// temperature 1; for SmolLM2 the argmax at 25 of 35 only — a poor draft head there.
///
/// For drafts only (`TransformerModel`'s `outputHead`): it changes the model. Lossless all the
/// same — a worker samples from exactly the distribution it ships.
///
/// Batch invariance: a token's candidates and logits depend on its hidden state alone, with one
/// fixed summation order. Thread-safety: immutable after `init`.
package struct CandidateOutput: Sendable {
    /// The file's output matrix (rows read back for the exact logits).
    package let matrix: WeightMatrix
    /// Candidates per token.
    package let count: Int
    /// Sign bits, row-major, 64 columns per `UInt64` (bit j of word g: column 64g + j is
    /// positive), the last word of a row padded with zeros.
    private let signs: WeightBytes
    /// Mean |weight| of each row.
    private let scales: [Float]
    /// 128 × the number of positive weights of each row (the activation codes' offset, below).
    private let offsets: [Int32]
    private let wordsPerRow: Int
    /// The level whose kernels compute the sketch's sums and the candidates' dot products.
    private let kernels: KernelSet

    /// Builds the sketch of `matrix` on `pool`'s threads.
    package init(matrix: WeightMatrix, count: Int, pool: ComputePool, kernels: KernelSet) {
        precondition(count > 0)
        let rows = matrix.rows, cols = matrix.cols, words = (cols + 63) / 64, rowsPerChunk = 1024
        var scales = [Float](repeating: 0, count: rows)
        var offsets = [Int32](repeating: 0, count: rows)
        signs = scales.withUnsafeMutableBufferPointer { scaleBuffer in
            offsets.withUnsafeMutableBufferPointer { offsetBuffer in
                let scaleBase = scaleBuffer.baseAddress!, offsetBase = offsetBuffer.baseAddress!
                return WeightBytes(byteCount: rows * words * 8) { out in
                    let bits = out.assumingMemoryBound(to: UInt64.self)
                    pool.run(chunks: (rows + rowsPerChunk - 1) / rowsPerChunk) { chunk in
                        var weights = [Float](repeating: 0, count: cols)
                        for r in chunk * rowsPerChunk..<min(rows, (chunk + 1) * rowsPerChunk) {
                            weights.withUnsafeMutableBufferPointer { matrix.row(r, into: $0.baseAddress!) }
                            var positive = 0, magnitude: Float = 0
                            for g in 0..<words {
                                var word: UInt64 = 0
                                for j in 0..<min(64, cols - 64 * g) where weights[64 * g + j] > 0 { word |= 1 << j }
                                bits[r * words + g] = word
                                positive += word.nonzeroBitCount
                            }
                            for w in weights { magnitude += abs(w) }
                            scaleBase[r] = magnitude / Float(cols)
                            offsetBase[r] = Int32(128 * positive)
                        }
                    }
                }
            }
        }
        self.matrix = matrix
        self.count = min(count, rows)
        self.scales = scales
        self.offsets = offsets
        self.wordsPerRow = words
        self.kernels = kernels
    }

    /// Logits `[token][rows]` for `tokens` hidden states `x` (`[token][cols]`): exact for each
    /// token's candidates, −∞ elsewhere.
    package func logits(_ x: [Float], tokens: Int, pool: ComputePool, into logits: inout [Float]) {
        let rows = matrix.rows, cols = matrix.cols
        precondition(x.count >= tokens * cols && logits.count >= tokens * rows)
        x.withUnsafeBufferPointer { xs in
            logits.withUnsafeMutableBufferPointer { out in
                out.update(repeating: -.infinity)
                let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                defer { row.deallocate() }
                let scores = sketchScores(xs.baseAddress!, tokens: tokens, pool: pool)
                for t in 0..<tokens {
                    let hidden = xs.baseAddress! + t * cols
                    let best = scores[t * rows..<(t + 1) * rows].withUnsafeBufferPointer { Self.largest(count, of: $0) }
                    for r in best {
                        matrix.row(r, into: row)
                        out[t * rows + r] = kernels.vector.dot(row, hidden, cols)
                    }
                }
            }
        }
    }

    /// The sketch's score of every row for `tokens` hidden states `x` (`[token][cols]`), as
    /// `[token][rows]`, on `pool`'s threads: scale_r · Σ_c sign(W[r, c]) · x_c, with x rounded to
    /// 8 bits. The level's kernel sums each row's positive columns' codes (`signSelectedSums`).
    package func sketchScores(_ x: UnsafePointer<Float>, tokens: Int, pool: ComputePool) -> [Float] {
        let rows = matrix.rows, cols = matrix.cols
        let codes = (0..<tokens).map { ActivationCodes(x + $0 * cols, count: cols, words: wordsPerRow) }
        defer { codes.forEach { $0.deallocate() } }
        let bits = UnsafePointer<UInt64>(signs.pointer.assumingMemoryBound(to: UInt64.self))
        var sums = [Int32](repeating: 0, count: tokens * rows)
        sums.withUnsafeMutableBufferPointer { sums in
            let base = sums.baseAddress!
            let chunks = pool.threads == 1 ? 1 : pool.threads * 4, steps = rows / Self.rowsPerStep
            pool.run(chunks: chunks) { c in
                let range = Self.rowsPerStep * (steps * c / chunks)..<(c == chunks - 1 ? rows : Self.rowsPerStep * (steps * (c + 1) / chunks))
                kernels.vector.signSelectedSums(signs: bits, wordsPerRow: wordsPerRow, rows: range, codes: codes.map { UnsafePointer($0.bytes) },
                                                into: (0..<tokens).map { base + $0 * rows })
            }
        }
        return (0..<tokens * rows).map { i in score(row: i % rows, offsetSum: sums[i], codes[i / rows]) }
    }

    /// A hidden state rounded to 8-bit codes for the sketch: `x_c ≈ d · q_c`, stored as the
    /// unsigned bytes `q_c + 128`, padded with 128 (q = 0) to whole words.
    private struct ActivationCodes {
        let bytes: UnsafeMutablePointer<UInt8>
        let scale: Float
        /// Σ_c q_c.
        let total: Int32

        init(_ x: UnsafePointer<Float>, count: Int, words: Int) {
            bytes = .allocate(capacity: words * 64)
            bytes.initialize(repeating: 128, count: words * 64)
            var largest: Float = 0
            for c in 0..<count where x[c].isFinite { largest = max(largest, abs(x[c])) }
            scale = largest / 127
            let inverse: Float = largest == 0 ? 0 : 127 / largest
            var total: Int32 = 0
            for c in 0..<count {
                // A non-finite activation (a broken model) scores as 0 rather than trapping.
                let v = x[c] * inverse
                let q = v.isFinite ? Int32(min(127, max(-127, v.rounded()))) : 0
                bytes[c] = UInt8(q + 128)
                total += q
            }
            self.total = total
        }

        func deallocate() { bytes.deallocate() }
    }

    /// Rows per step of the sketch's kernel (chunks of the rows split on multiples of it).
    private static let rowsPerStep = 4

    /// Row r's score from Σ_{c positive} (q_c + 128), the sum the kernels accumulate; the row's
    /// `offsets` entry takes the 128s back out.
    @inline(__always)
    private func score(row r: Int, offsetSum: Int32, _ codes: ActivationCodes) -> Float {
        let positive = offsetSum &- offsets[r]
        return scales[r] * codes.scale * Float(2 &* positive &- codes.total)
    }

    /// The indices of the `k` largest scores (ties: the smaller index), with a bounded min-heap.
    package static func largest(_ k: Int, of scores: UnsafeBufferPointer<Float>) -> [Int] {
        var top = LargestEntries<Float>(capacity: k)
        // Most scores fall below the k-th largest so far: one comparison each.
        var threshold = -Float.infinity
        for i in scores.indices where scores[i] >= threshold {
            top.offer(score: scores[i], id: i)
            if top.isFull, let smallest = top.smallestScore { threshold = smallest }
        }
        return top.ids
    }
}
