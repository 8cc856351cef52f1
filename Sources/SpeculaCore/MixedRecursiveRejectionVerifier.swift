/// Recursive rejection sampling with each draft's own law (`mixed-rrs`): SpecInfer's multi-step
/// speculative sampling, which is lossless for drafts of different draft models (Miao et al.,
/// "SpecInfer", ASPLOS 2024, §4.2). The baseline `mixed-block` is measured against.
///
/// At a node, the drafts through it that go deeper are tried in draft order, each against its own
/// pool's row p_j: accept its token x with probability min(1, q̂(x)/p_j(x)), else q̂ ←
/// norm((q̂ − p_j)_+). Lossless because each tried token is, given everything revealed before it,
/// a fresh draw from p_j (drafts are independent, and a draft's continuation past a node depends
/// only on its prefix), which is the one-draft speculative sampling step against the current q̂.
/// Equal to `rrs` when all drafts share a law.
package struct MixedRecursiveRejectionVerifier: DepthwiseVerifier {
    package let name = "mixed-rrs"

    package init() {}

    package func select<Choices: RandomChoices>(
        at node: Int, in problem: VerificationProblem, choices: inout Choices
    ) -> DepthwiseSelection {
        let tree = problem.tree
        let tried = tree[node].drafts.compactMap { draft in
            tree[node].children.first { tree[$0].drafts.contains(draft) }.map { (draft, $0) }
        }
        let laws = tried.map { problem.draftLaw(at: node, pool: problem.pool(ofDraft: $0.0)) }
        var support: [Token] = []
        for law in laws { support += law.tokens.filter { !support.contains($0) } }
        var target = problem.residualTarget(at: node).repatched(on: support)
        for ((_, child), law) in zip(tried, laws) {
            let p = support.map(law.probability(of:))
            let index = support.firstIndex(of: tree[child].token)!
            if choices.bernoulli(Acceptance.ratio(target.patch[index], over: p[index])) { return .accept(child: child) }
            target.subtractResidual(weight: 1, draft: p)
        }
        return .emit(choices.draw(from: target))
    }
}
