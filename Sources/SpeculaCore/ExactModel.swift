/// A model whose full next-token distribution is cheap and exact for any context: toy n-gram
/// tables and synthetic models.
///
/// Exact analysis and in-process sampling (`specula sample`) run on these; real engines expose the
/// same rows through the cluster instead.
package protocol ExactModel: Sendable {
    var vocabularySize: Int { get }
    /// How many trailing context tokens the distribution depends on (nil: possibly all). Exact
    /// analysis memoises by this suffix.
    var contextWindow: Int? { get }
    /// p(·|context) before any sampling transform.
    func distribution(after context: [Token]) -> DenseDistribution
    /// p(·|context) after `sampling` (default: the transform applied to the raw row).
    func distribution(after context: [Token], sampling: SamplingParameters) -> DenseDistribution
    /// p(·|context) after `sampling` for each of `contexts`: one drafting step of several drafts.
    /// An engine evaluates them in one batched pass (default: one row at a time).
    func distributions(after contexts: [[Token]], sampling: SamplingParameters) -> [DenseDistribution]
}

extension ExactModel {
    /// p(·|context) after `sampling`: the row every caller needs. Models that have logits
    /// override it to transform them directly instead of round-tripping through probabilities.
    package func distribution(after context: [Token], sampling: SamplingParameters) -> DenseDistribution {
        sampling.distribution(probabilities: distribution(after: context).probabilities)
    }

    package func distributions(after contexts: [[Token]], sampling: SamplingParameters) -> [DenseDistribution] {
        contexts.map { distribution(after: $0, sampling: sampling) }
    }
}
