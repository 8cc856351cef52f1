/// One pool of a speculative round in one process (`SpeculativeSampler`): where its drafts come
/// from, and how many it drafts. Drafts of one pool are i.i.d. from one law; pools differ.
package struct DraftPool: Sendable {
    /// Where a pool's drafts come from.
    package enum Source: Sendable {
        /// A model's rows, after the request's sampling transform.
        case model(any ExactModel)
        /// A model-free drafter's point masses (`TokenProposer`).
        case proposer(any TokenProposer)
    }

    package let source: Source
    package let drafts: Int

    package init(_ source: Source, drafts: Int) {
        precondition(drafts >= 0, "drafts must be non-negative")
        self.source = source
        self.drafts = drafts
    }

    /// The pool's row after `context`, or nil when a model-free drafter proposes nothing there.
    package func row(after context: [Token], sampling: SamplingParameters) -> SparseDistribution? {
        switch source {
        case .model(let model): SparseDistribution(model.distribution(after: context, sampling: sampling))
        case .proposer(let proposer): proposer.propose(after: context).map(SparseDistribution.pointMass)
        }
    }

    /// How many trailing context tokens its rows depend on (nil: possibly all).
    package var contextWindow: Int? {
        switch source {
        case .model(let model): model.contextWindow
        case .proposer: nil
        }
    }
}
