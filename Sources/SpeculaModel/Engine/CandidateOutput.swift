import CX86
import SpeculaCore

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

    /// Builds the sketch of `matrix` on `pool`'s threads.
    package init(matrix: WeightMatrix, count: Int, pool: ComputePool) {
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
                        out[t * rows + r] = Kernels.dot(row, hidden, cols)
                    }
                }
            }
        }
    }

    /// The sketch's score of every row for `tokens` hidden states `x` (`[token][cols]`), as
    /// `[token][rows]`, on `pool`'s threads: scale_r · Σ_c sign(W[r, c]) · x_c, with x rounded to
    /// 8 bits. Tokens go through the sign bits two at a time, each row's bits expanded once for both.
    package func sketchScores(_ x: UnsafePointer<Float>, tokens: Int, pool: ComputePool) -> [Float] {
        let rows = matrix.rows, cols = matrix.cols
        let codes = (0..<tokens).map { ActivationCodes(x + $0 * cols, count: cols, words: wordsPerRow) }
        defer { codes.forEach { $0.deallocate() } }
        return [Float](unsafeUninitializedCapacity: tokens * rows) { scores, initialized in
            let base = scores.baseAddress!
            let chunks = pool.threads == 1 ? 1 : pool.threads * 4, steps = rows / Self.rowsPerStep
            pool.run(chunks: chunks) { c in
                let range = Self.rowsPerStep * (steps * c / chunks)..<(c == chunks - 1 ? rows : Self.rowsPerStep * (steps * (c + 1) / chunks))
                var t = 0
                while t + 2 <= tokens {
                    sketchScores(codes[t], codes[t + 1], rows: range, into: base + t * rows, base + (t + 1) * rows)
                    t += 2
                }
                if t < tokens { sketchScores(codes[t], rows: range, into: base + t * rows) }
            }
            initialized = tokens * rows
        }
    }

    /// A hidden state rounded to 8-bit codes for the sketch: `x_c ≈ d · q_c`, stored as the
    /// unsigned bytes `q_c + 128` (for `vpdpbusd`), padded with 128 (q = 0) to whole words.
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

    /// score(r) = scale_r · d · (2 · Σ_{c positive} q_c − Σ_c q_c) for r in `range`, four rows
    /// at a time. Per 64 columns and row, the row's sign bits select the positive columns' bytes
    /// q_c + 128 (a masked move) and one `vpdpbusd` by ones adds them up; the row's `offsets`
    /// entry takes the 128s back out.
    private func sketchScores(_ codes: ActivationCodes, rows range: Range<Int>, into scores: UnsafeMutablePointer<Float>) {
        let words = wordsPerRow, x = UnsafeRawPointer(codes.bytes), ones = _mm512_set1_epi8(1)
        let bits = UnsafePointer<UInt64>(signs.pointer.assumingMemoryBound(to: UInt64.self))
        func store(_ r: Int, _ lanes: __m512i) { scores[r] = score(row: r, offsetSum: _mm512_reduce_add_epi32(lanes), codes) }
        var r = range.lowerBound
        while r &+ 4 <= range.upperBound {
            let b0 = bits + r &* words, b1 = b0 + words, b2 = b1 + words, b3 = b2 + words
            var a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0
            for g in 0..<words {
                let v = _mm512_loadu_si512(x + 64 &* g)
                a0 = _mm512_dpbusd_epi32(a0, _mm512_maskz_mov_epi8(b0[g], v), ones)
                a1 = _mm512_dpbusd_epi32(a1, _mm512_maskz_mov_epi8(b1[g], v), ones)
                a2 = _mm512_dpbusd_epi32(a2, _mm512_maskz_mov_epi8(b2[g], v), ones)
                a3 = _mm512_dpbusd_epi32(a3, _mm512_maskz_mov_epi8(b3[g], v), ones)
            }
            store(r, a0); store(r &+ 1, a1); store(r &+ 2, a2); store(r &+ 3, a3)
            r &+= 4
        }
        while r < range.upperBound {
            let b0 = bits + r &* words
            var lanes = _mm512_setzero_si512()
            for g in 0..<words { lanes = _mm512_dpbusd_epi32(lanes, _mm512_maskz_mov_epi8(b0[g], _mm512_loadu_si512(x + 64 &* g)), ones) }
            store(r, lanes)
            r &+= 1
        }
    }

    /// The same scores for two tokens at once: per 64 columns and row the sign bits become bytes
    /// of −1 or 0 once (`vpmovm2b`), and one `vpdpbusd` per token adds −(q_c + 128) for the
    /// positive columns — the same integer sums as one token at a time, so the same scores.
    private func sketchScores(_ first: ActivationCodes, _ second: ActivationCodes, rows range: Range<Int>,
                              into scoresOfFirst: UnsafeMutablePointer<Float>, _ scoresOfSecond: UnsafeMutablePointer<Float>) {
        let words = wordsPerRow, x = UnsafeRawPointer(first.bytes), y = UnsafeRawPointer(second.bytes)
        let bits = UnsafePointer<UInt64>(signs.pointer.assumingMemoryBound(to: UInt64.self))
        func store(_ r: Int, _ lanes: __m512i, _ codes: ActivationCodes, _ scores: UnsafeMutablePointer<Float>) {
            scores[r] = score(row: r, offsetSum: 0 &- _mm512_reduce_add_epi32(lanes), codes)
        }
        var r = range.lowerBound
        while r < range.upperBound {
            let rowsNow = min(2, range.upperBound &- r)
            let b0 = bits + r &* words, b1 = rowsNow == 2 ? b0 + words : b0
            var a0 = _mm512_setzero_si512(), a1 = a0, c0 = a0, c1 = a0
            for g in 0..<words {
                let v = _mm512_loadu_si512(x + 64 &* g), w = _mm512_loadu_si512(y + 64 &* g)
                let m0 = _mm512_movm_epi8(b0[g]), m1 = _mm512_movm_epi8(b1[g])
                a0 = _mm512_dpbusd_epi32(a0, v, m0)
                c0 = _mm512_dpbusd_epi32(c0, w, m0)
                a1 = _mm512_dpbusd_epi32(a1, v, m1)
                c1 = _mm512_dpbusd_epi32(c1, w, m1)
            }
            store(r, a0, first, scoresOfFirst)
            store(r, c0, second, scoresOfSecond)
            if rowsNow == 2 {
                store(r &+ 1, a1, first, scoresOfFirst)
                store(r &+ 1, c1, second, scoresOfSecond)
            }
            r &+= rowsNow
        }
    }

    /// Row r's score from Σ_{c positive} (q_c + 128), the sum both kernels accumulate.
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
