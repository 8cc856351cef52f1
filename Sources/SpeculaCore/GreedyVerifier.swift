/// Temperature-0 verification for any K: keep the longest draft prefix that follows the target's
/// argmax path, then add the target's argmax token.
///
/// The output is identical to plain greedy decoding of the target, token for token. Uses no
/// randomness.
package struct GreedyVerifier: Verifier {
    package let name = "greedy"

    package init() {}

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        var node = DraftTree.root
        while true {
            let best = problem.target[node].argmax
            guard let next = problem.tree.child(of: node, token: best) else {
                return VerificationOutcome(tree: problem.tree, acceptedNode: node, extraToken: best)
            }
            node = next
        }
    }
}
