/// A multi-draft verifier that decides one position at a time (the SpecInfer / SpecTr baselines).
///
/// At a node the candidates are the next tokens of the drafts through it; if one is accepted the
/// walk moves to that child (keeping only the drafts that contain it) and goes one deeper;
/// otherwise the verifier emits a residual token and stops. At a node no draft continues past, a
/// bonus token comes from q. Conformers only say how one position is decided.
package protocol DepthwiseVerifier: Verifier {
    /// Decides one position: the accepted child node, or the token to emit instead.
    func select<Choices: RandomChoices>(
        at node: Int, in problem: VerificationProblem, choices: inout Choices
    ) -> DepthwiseSelection
}

/// The decision at one position of a depthwise verifier.
package enum DepthwiseSelection {
    case accept(child: Int)
    case emit(Token)
}

extension DepthwiseVerifier {
    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        var node = DraftTree.root
        while !problem.tree[node].children.isEmpty {
            switch select(at: node, in: problem, choices: &choices) {
            case .accept(let child):
                node = child
            case .emit(let token):
                return VerificationOutcome(tree: problem.tree, acceptedNode: node, extraToken: token)
            }
        }
        return VerificationOutcome(tree: problem.tree, acceptedNode: node, extraToken: choices.draw(from: problem.target[node]))
    }

    /// The candidate children at `node`, one per continuing draft, in draft order (i.i.d. from p).
    func candidatesWithReplacement(at node: Int, in tree: DraftTree) -> [Int] {
        tree[node].drafts.compactMap { draft in
            tree[node].children.first { tree[$0].drafts.contains(draft) }
        }
    }
}
