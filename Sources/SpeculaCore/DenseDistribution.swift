/// A probability vector over the whole vocabulary, `[vocab]`.
///
/// The target's distribution at a tree node arrives in this shape (one softmax per node is the
/// engine's job); toy models produce it too. Values are normalised at construction.
package struct DenseDistribution: TokenLaw, Sendable, Equatable {
    /// `probabilities[t]` is the probability of token `t`; they sum to 1.
    package let probabilities: [Double]
    /// `blockMass[b]` = Σ probabilities of tokens `b·blockSize ..< (b+1)·blockSize`: lets a draw
    /// find its token in O(V / blockSize + blockSize) steps instead of O(V).
    package let blockMass: [Double]
    /// Tokens per entry of `blockMass`.
    package static let blockSize = 256

    /// Normalises `weights` (non-negative, positive sum) into a distribution.
    package init(weights: [Double]) {
        precondition(!weights.isEmpty, "a distribution needs at least one token")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite, "weights must have a positive, finite sum")
        let probabilities = weights.map { $0 / total }
        self.probabilities = probabilities
        self.blockMass = stride(from: 0, to: probabilities.count, by: Self.blockSize).map { start in
            probabilities[start..<min(start + Self.blockSize, probabilities.count)].reduce(0, +)
        }
    }

    /// A distribution that puts all its mass on `token`.
    package static func pointMass(_ token: Token, vocabularySize: Int) -> DenseDistribution {
        var weights = [Double](repeating: 0, count: vocabularySize)
        weights[token] = 1
        return DenseDistribution(weights: weights)
    }

    package var vocabularySize: Int { probabilities.count }

    /// The most likely token; ties go to the smallest id (so greedy decoding is deterministic).
    package var argmax: Token {
        var best = 0
        for t in probabilities.indices where probabilities[t] > probabilities[best] { best = t }
        return best
    }

    package func probability(of token: Token) -> Double {
        probabilities.indices.contains(token) ? probabilities[token] : 0
    }

    package func sample(quantile u: Double) -> Token {
        sample(quantile: u, scale: 1, excluding: [:]) ?? argmax
    }

    /// The token at quantile `u` of `scale · self` restricted to tokens outside `excluded`, whose
    /// keys are block indices and values the excluded tokens of that block (u is measured against
    /// the restricted, scaled mass). Returns nil when nothing outside `excluded` has mass.
    package func sample(quantile u: Double, scale: Double, excluding excluded: [Int: [Token]]) -> Token? {
        var remaining = u
        var lastBlock: Int? = nil
        for (b, mass) in blockMass.enumerated() {
            var blockTotal = mass
            for t in excluded[b] ?? [] { blockTotal -= probabilities[t] }
            blockTotal *= scale
            guard blockTotal > 0 else { continue }
            lastBlock = b
            if remaining >= blockTotal {
                remaining -= blockTotal
                continue
            }
            var last: Token? = nil
            for t in tokens(inBlock: b, excluding: excluded[b] ?? []) {
                let p = scale * probabilities[t]
                last = t
                if remaining < p { return t }
                remaining -= p
            }
            return last  // rounding within the block
        }
        // u rounded past the last bucket: the last token with mass.
        guard let b = lastBlock else { return nil }
        return tokens(inBlock: b, excluding: excluded[b] ?? []).last
    }

    /// The tokens of block `b` with positive probability, minus `skip`.
    private func tokens(inBlock b: Int, excluding skip: [Token]) -> [Token] {
        let start = b * Self.blockSize
        let end = min(start + Self.blockSize, probabilities.count)
        return (start..<end).filter { probabilities[$0] > 0 && !skip.contains($0) }
    }

    package func forEachOutcome(_ body: (Token, Double) -> Void) {
        for (t, p) in probabilities.enumerated() where p > 0 { body(t, p) }
    }
}
