/// A distribution with explicit support: `tokens[i]` has probability `probabilities[i]`, every
/// other token 0.
///
/// This is what a draft worker ships (design.md, "Sparse distributions"): it truncates first,
/// samples second, and sends the very distribution it sampled from, so the verifier's guarantee
/// holds exactly. The support keeps the order it was given in; verifiers work on the support only,
/// which is what keeps a verification O(K·γ·|support|) instead of O(vocab).
package struct SparseDistribution: TokenLaw, Sendable, Equatable {
    /// The support, without duplicates.
    package let tokens: [Token]
    /// Probabilities aligned with `tokens`, summing to 1.
    package let probabilities: [Double]

    /// Normalises `weights` (aligned with `tokens`) into a distribution; zero weights are kept so
    /// indices stay aligned with what was shipped.
    package init(tokens: [Token], weights: [Double]) {
        precondition(tokens.count == weights.count, "tokens and weights must align")
        let total = weights.reduce(0, +)
        precondition(total > 0 && total.isFinite, "weights must have a positive, finite sum")
        self.tokens = tokens
        self.probabilities = weights.map { $0 / total }
    }

    /// The whole of `dense` as a sparse distribution (support = tokens with positive mass).
    package init(_ dense: DenseDistribution) {
        var tokens: [Token] = []
        var weights: [Double] = []
        dense.forEachOutcome { t, p in
            tokens.append(t)
            weights.append(p)
        }
        self.init(tokens: tokens, weights: weights)
    }

    package var count: Int { tokens.count }

    /// The position of `token` in the support, if present. Linear: supports are small.
    package func index(of token: Token) -> Int? { tokens.firstIndex(of: token) }

    package func probability(of token: Token) -> Double {
        index(of: token).map { probabilities[$0] } ?? 0
    }

    package func sample(quantile u: Double) -> Token {
        var cumulative = 0.0
        var last = tokens[0]
        for (t, p) in zip(tokens, probabilities) where p > 0 {
            cumulative += p
            last = t
            if u < cumulative { return t }
        }
        return last
    }

    package func forEachOutcome(_ body: (Token, Double) -> Void) {
        for (t, p) in zip(tokens, probabilities) where p > 0 { body(t, p) }
    }
}
