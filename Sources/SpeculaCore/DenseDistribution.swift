/// A probability vector over the whole vocabulary, `[vocab]`.
///
/// The target's distribution at a tree node arrives in this shape (one softmax per node is the
/// engine's job); toy models produce it too. Values are normalised at construction.
package struct DenseDistribution: TokenLaw, Sendable, Equatable {
    /// `probabilities[t]` is the probability of token `t`; they sum to 1.
    package let probabilities: [Double]

    /// Normalises `weights` (non-negative, positive sum) into a distribution.
    package init(weights: [Double]) {
        precondition(!weights.isEmpty, "a distribution needs at least one token")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite, "weights must have a positive, finite sum")
        probabilities = weights.map { $0 / total }
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
        var cumulative = 0.0
        var last = 0
        for (t, p) in probabilities.enumerated() where p > 0 {
            cumulative += p
            last = t
            if u < cumulative { return t }
        }
        return last  // u rounded past the last bucket
    }

    package func forEachOutcome(_ body: (Token, Double) -> Void) {
        for (t, p) in probabilities.enumerated() where p > 0 { body(t, p) }
    }
}
