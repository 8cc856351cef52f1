/// A probability law over tokens, as the verifiers consume it.
///
/// Three shapes conform: `DenseDistribution` (a target row over the whole vocabulary),
/// `SparseDistribution` (what a draft worker ships) and `PatchedDistribution` (a dense row after
/// residual steps that only touched a few tokens). All probabilities are `Double`.
package protocol TokenLaw {
    /// The probability of `token` (0 for tokens outside the law's support).
    func probability(of token: Token) -> Double

    /// The token at quantile `u ∈ [0, 1)` of the law (inverse CDF in the law's own order).
    func sample(quantile u: Double) -> Token

    /// Calls `body` once for every token with a positive probability, in a fixed order.
    ///
    /// Exact analysis enumerates outcomes with this; the order never changes between calls.
    func forEachOutcome(_ body: (Token, Double) -> Void)
}
