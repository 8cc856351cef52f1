/// Speculative sampling in one process with exact models: draft K blocks, merge them into a tree,
/// verify, repeat.
///
/// This is the code path `specula sample` and the exact analysis share, so a Monte-Carlo check and
/// an enumeration test exercise the same drafting and the same verifier. Drafts follow design.md:
/// each token is drawn from exactly the (transformed) distribution that the verifier is given; a
/// draft that samples `endOfSequence` ends there, and so does one whose model-free drafter has
/// nothing to propose. With several pools the problem carries each pool's rows (`DraftPools`).
package struct SpeculativeSampler: Sendable {
    package let target: any ExactModel
    package let pools: [DraftPool]
    package let verifier: any Verifier
    package let sampling: SamplingParameters
    package let blockLength: Int
    package let endOfSequence: Token?

    /// Drafts from several pools, pool 0's first.
    package init(
        target: any ExactModel, pools: [DraftPool], verifier: any Verifier,
        sampling: SamplingParameters = SamplingParameters(), blockLength: Int, endOfSequence: Token? = nil
    ) {
        for case .model(let draft) in pools.map(\.source) {
            precondition(target.vocabularySize == draft.vocabularySize, "target and draft vocabularies differ")
        }
        precondition(blockLength >= 0, "the block length must be non-negative")
        self.target = target
        self.pools = pools
        self.verifier = verifier
        self.sampling = sampling
        self.blockLength = blockLength
        self.endOfSequence = endOfSequence
    }

    /// K drafts from one draft model.
    package init(
        target: any ExactModel, draft: any ExactModel, verifier: any Verifier,
        sampling: SamplingParameters = SamplingParameters(), drafts: Int, blockLength: Int,
        endOfSequence: Token? = nil
    ) {
        self.init(target: target, pools: [DraftPool(.model(draft), drafts: drafts)], verifier: verifier, sampling: sampling,
                  blockLength: blockLength, endOfSequence: endOfSequence)
    }

    /// Drafts per round, all pools together.
    package var drafts: Int { pools.reduce(0) { $0 + $1.drafts } }

    /// q(·|context) after the sampling transform.
    package func targetRow(_ context: [Token]) -> DenseDistribution {
        target.distribution(after: context, sampling: sampling)
    }

    /// Pool `k`'s row after `context`, as its worker would ship it (nil: its drafter proposes
    /// nothing there).
    package func draftRow(_ context: [Token], pool k: Int = 0) -> SparseDistribution? {
        pools[k].row(after: context, sampling: sampling)
    }

    /// One round from `context`: every pool's drafts, one verification.
    package func round<Choices: RandomChoices>(context: [Token], choices: inout Choices) -> VerificationOutcome {
        var blocks: [[Token]] = []
        var poolOfDraft: [Int] = []
        for (k, pool) in pools.enumerated() {
            for _ in 0..<pool.drafts {
                var block: [Token] = []
                while block.count < blockLength, let row = draftRow(context + block, pool: k) {
                    let token = choices.draw(from: row)
                    block.append(token)
                    if token == endOfSequence { break }
                }
                blocks.append(block)
                poolOfDraft.append(k)
            }
        }
        let tree = DraftTree(drafts: blocks)
        // Each pool's row wherever one of its drafts goes deeper; `draft` takes the first such.
        var rows = pools.map { _ in [SparseDistribution?](repeating: nil, count: tree.count) }
        var firstRows: [SparseDistribution?] = []
        var targetRows: [DenseDistribution] = []
        for node in 0..<tree.count {
            let prefix = context + tree.path(to: node)
            targetRows.append(targetRow(prefix))
            var first: SparseDistribution?
            for child in tree[node].children {
                for k in Set(tree[child].drafts.map { poolOfDraft[$0] }) where rows[k][node] == nil { rows[k][node] = draftRow(prefix, pool: k) }
            }
            if let child = tree[node].children.first { first = rows[poolOfDraft[tree[child].drafts[0]]][node] }
            firstRows.append(first)
        }
        let mixed = pools.count > 1 ? DraftPools(poolOfDraft: poolOfDraft, rows: rows) : nil
        let problem = VerificationProblem(tree: tree, draft: firstRows, target: targetRows, blockLength: blockLength, pools: mixed)
        return verifier.verify(problem, choices: &choices)
    }

    /// Generates up to `maxTokens` tokens after `prompt` (fewer if the end-of-sequence token comes).
    package func generate<Choices: RandomChoices>(prompt: [Token], maxTokens: Int, choices: inout Choices) -> [Token] {
        var output: [Token] = []
        while output.count < maxTokens {
            for token in round(context: prompt + output, choices: &choices).emittedTokens where output.count < maxTokens {
                output.append(token)
                if token == endOfSequence { return output }
            }
        }
        return output
    }
}
