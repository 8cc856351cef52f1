/// Block-level verification of drafts of different laws (`mixed-block`): each pool's drafts are
/// judged as blocks, by `multidraft-block`'s traversal, and where one pool's traversal settles
/// the next pool takes over from there. Equal to `multidraft-block` when all drafts share a law.
///
/// The walk: pool 0's drafts form a tree (their own law at every node: one pool's drafts are i.i.d.
/// samples); its traversal settles at a node u (the root when it rejects everything), owing one
/// token from the residual q̂[u] there. Instead of drawing it, the next pool with drafts that go
/// past u takes up the problem below u: its drafts' subtree from u, with target q̂[u] at u and
/// q(·|·) below. Each pool is used once, in `VerificationProblem.poolOrder`; when no pool is left
/// with drafts past the node where the walk stands, the token comes from its residual.
///
/// Why it is lossless (proof sketch). Traversal verification is lossless for *any* target row at
/// its root: given a tree of i.i.d. drafts from p below u, the text it emits (path, then token)
/// has the law q̂[u] ⊗ q, where q̂[u] is the root row it was given. (1) Pool k's drafts past u are,
/// given that they pass through u, i.i.d. from p_k(·|u) and independent of everything earlier
/// pools revealed and of the coins spent: drafts of different pools are drawn independently, and
/// a draft's continuation depends only on its own prefix. (2) So replacing "draw the owed token
/// from q̂[u]" by "run pool k's traversal below u with root row q̂[u]" replaces an emission of law
/// q̂[u] by one of law q̂[u] ⊗ q (the path past the first token is as the target would continue
/// it, the rounds after it unchanged). (3) Whether a later pool has drafts past u depends on
/// those drafts' tokens up to u, which (1) makes irrelevant to what they draw past u; either way
/// the emission there has law q̂[u] ⊗ q. By induction over the pools the whole round's emission
/// is the one pool 0's traversal alone would produce, q ⊗ q, as `ExactnessTests` checks by
/// enumeration. Using one pool's row for another pool's token breaks (1): `multidraft-block` on a
/// mixed tree (`VerificationProblem.draft` takes the first draft's row) is lossy, and the tests
/// show it.
///
/// Never worse than pool 0 alone: on every outcome of the coins it emits what pool 0's traversal
/// accepts plus, where that would draw one residual token, at least one. The coordinator puts the
/// pool with the most accepted tokens per round first.
package struct MixedBlockVerifier: Verifier {
    package let name = "mixed-block"

    package init() {}

    package func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome {
        let traversal = TraversalVerifier(order: .maxRatio)
        guard problem.pools != nil else { return traversal.verify(problem, choices: &choices) }
        var node = DraftTree.root
        var owed = problem.residualTarget(at: node)
        for k in problem.poolOrder where goesPast(node, pool: k, in: problem) {
            let (sub, nodes) = problem.subproblem(pool: k, from: node)
            var state = TraversalState(problem: sub, order: .maxRatio, rootTarget: owed)
            let settled = traversal.settle(&state, choices: &choices)
            (node, owed) = (nodes[settled], state.target[settled])
        }
        return VerificationOutcome(tree: problem.tree, acceptedNode: node, extraToken: choices.draw(from: owed))
    }

    /// Whether a draft of pool `k` continues past `node`.
    private func goesPast(_ node: Int, pool k: Int, in problem: VerificationProblem) -> Bool {
        problem.tree[node].children.contains { child in problem.tree[child].drafts.contains { problem.pool(ofDraft: $0) == k } }
    }
}
