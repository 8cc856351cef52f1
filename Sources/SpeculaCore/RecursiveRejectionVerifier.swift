/// SpecInfer's recursive rejection sampling, one position at a time (Miao et al., "SpecInfer",
/// ASPLOS 2024).
///
/// At each position: try the candidates in turn, accepting X_j with probability
/// min(1, q̂(X_j)/p̂(X_j)); after a rejection q̂ ← norm((q̂ − p̂)_+). With replacement (`rrs`) the
/// candidates are the K drafts' next tokens as drawn. Without replacement (`rrs-wor`) they are the
/// distinct next tokens in order of first appearance, which is exactly sampling without
/// replacement from p, and after each rejection p̂(X_j) ← 0, renormalised.
package struct RecursiveRejectionVerifier: DepthwiseVerifier {
    package let name: String
    private let withoutReplacement: Bool

    package init(withoutReplacement: Bool) {
        self.withoutReplacement = withoutReplacement
        self.name = withoutReplacement ? "rrs-wor" : "rrs"
    }

    package func select<Choices: RandomChoices>(
        at node: Int, in problem: VerificationProblem, choices: inout Choices
    ) -> DepthwiseSelection {
        let tree = problem.tree
        let p = problem.draftLaw(at: node)
        var draftLaw = p.probabilities
        var target = problem.residualTarget(at: node)
        let candidates = withoutReplacement ? tree[node].children : candidatesWithReplacement(at: node, in: tree)
        for child in candidates {
            let index = p.index(of: tree[child].token)!
            let accept = Acceptance.ratio(target.patch[index], over: draftLaw[index])
            if choices.bernoulli(accept) { return .accept(child: child) }
            target.subtractResidual(weight: 1, draft: draftLaw)
            if withoutReplacement {
                draftLaw[index] = 0
                let total = draftLaw.reduce(0, +)
                if total > 0 { draftLaw = draftLaw.map { $0 / total } }
            }
        }
        return .emit(choices.draw(from: target))
    }
}
