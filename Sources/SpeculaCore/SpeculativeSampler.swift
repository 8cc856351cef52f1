/// Speculative sampling in one process with exact models: draft K blocks, merge them into a tree,
/// verify, repeat.
///
/// This is the code path `specula sample` and the exact analysis share, so a Monte-Carlo check and
/// an enumeration test exercise the same drafting and the same verifier. Drafts follow design.md:
/// each token is drawn from exactly the (transformed) distribution that the verifier is given; a
/// draft that samples `endOfSequence` ends there.
package struct SpeculativeSampler: Sendable {
    package let target: any ExactModel
    package let draft: any ExactModel
    package let verifier: any Verifier
    package let sampling: SamplingParameters
    package let drafts: Int
    package let blockLength: Int
    package let endOfSequence: Token?

    package init(
        target: any ExactModel, draft: any ExactModel, verifier: any Verifier,
        sampling: SamplingParameters = SamplingParameters(), drafts: Int, blockLength: Int,
        endOfSequence: Token? = nil
    ) {
        precondition(target.vocabularySize == draft.vocabularySize, "target and draft vocabularies differ")
        precondition(drafts >= 0 && blockLength >= 0, "drafts and block length must be non-negative")
        self.target = target
        self.draft = draft
        self.verifier = verifier
        self.sampling = sampling
        self.drafts = drafts
        self.blockLength = blockLength
        self.endOfSequence = endOfSequence
    }

    /// q(·|context) after the sampling transform.
    package func targetRow(_ context: [Token]) -> DenseDistribution {
        target.distribution(after: context, sampling: sampling)
    }

    /// p(·|context) after the sampling transform, as the worker would ship it.
    package func draftRow(_ context: [Token]) -> SparseDistribution {
        SparseDistribution(draft.distribution(after: context, sampling: sampling))
    }

    /// One round from `context`: K drafts, one verification.
    package func round<Choices: RandomChoices>(context: [Token], choices: inout Choices) -> VerificationOutcome {
        var blocks: [[Token]] = []
        for _ in 0..<drafts {
            var block: [Token] = []
            while block.count < blockLength {
                let token = choices.draw(from: draftRow(context + block))
                block.append(token)
                if token == endOfSequence { break }
            }
            blocks.append(block)
        }
        let tree = DraftTree(drafts: blocks)
        var draftRows: [SparseDistribution?] = []
        var targetRows: [DenseDistribution] = []
        for node in 0..<tree.count {
            let prefix = context + tree.path(to: node)
            targetRows.append(targetRow(prefix))
            draftRows.append(tree[node].children.isEmpty ? nil : draftRow(prefix))
        }
        let problem = VerificationProblem(tree: tree, draft: draftRows, target: targetRows, blockLength: blockLength)
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
