/// Token-level speculative sampling for one draft (Leviathan et al. 2023; Chen et al. 2023).
///
/// Accept draft token X_i with probability min(1, q_i(X_i)/p_i(X_i)); at the first rejection
/// emit a token from norm((q_i − p_i)_+); after the whole draft, a bonus token from q. Uses draft 0
/// only (K = 1).
package struct TokenVerifier: Verifier {
    package let name = "token"

    package init() {}

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        let tree = problem.tree
        let path = tree.nodePath(to: tree.leaves.first ?? DraftTree.root)
        for (parent, child) in zip(path, path.dropFirst()) {
            let token = tree[child].token
            let p = problem.draftLaw(at: parent)
            let accept = Acceptance.ratio(problem.target[parent].probability(of: token), over: p.probability(of: token))
            if choices.bernoulli(accept) { continue }
            var residual = problem.residualTarget(at: parent)
            residual.subtractResidual(weight: 1, draft: p.probabilities)
            return VerificationOutcome(tree: tree, acceptedNode: parent, extraToken: choices.draw(from: residual))
        }
        let last = path.last!
        return VerificationOutcome(tree: tree, acceptedNode: last, extraToken: choices.draw(from: problem.target[last]))
    }
}
