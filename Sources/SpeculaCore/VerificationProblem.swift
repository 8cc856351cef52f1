/// Everything one verifier call needs: the draft tree, the draft's distribution at every internal
/// node and the target's distribution at every node.
///
/// Shapes: `draft[node]` is p(·|context, path(node)) for every node with children (nil for leaves:
/// nobody drafted past them); `target[node]` is q(·|context, path(node)) for every node, leaves
/// included (a leaf's row gives the bonus token). Both are *after* the request's sampling
/// transform. The verifier's guarantee needs the drafts to be samples from exactly `draft`.
///
/// Drafts of several laws (`pools`, not nil) still get one `draft` row per node, the row of the
/// first draft through it that goes deeper: what a verifier for one law would use, and wrong for
/// the others' tokens. Only the verifiers for mixed drafts (`VerifierKind.acceptsMixedDrafts`)
/// read `pools`; the cluster gives a mixed round to no other.
package struct VerificationProblem: Sendable {
    package let tree: DraftTree
    package let draft: [SparseDistribution?]
    package let target: [DenseDistribution]
    /// γ, the block length the drafts were asked for (a draft may be shorter: EOS).
    package let blockLength: Int
    /// The pool and the rows of each draft when the drafts come from several laws; nil when every
    /// draft was drawn from `draft`.
    package let pools: DraftPools?

    package init(tree: DraftTree, draft: [SparseDistribution?], target: [DenseDistribution], blockLength: Int,
                 pools: DraftPools? = nil) {
        precondition(draft.count == tree.count && target.count == tree.count, "one row per tree node")
        for node in 0..<tree.count where !tree[node].children.isEmpty {
            precondition(draft[node] != nil, "node \(node) has children but no draft distribution")
        }
        precondition(pools.map { $0.poolOfDraft.count == tree.draftCount && $0.rows.allSatisfy { $0.count == tree.count } } ?? true,
                     "one pool per draft and one row per node and pool")
        self.tree = tree
        self.draft = draft
        self.target = target
        self.blockLength = blockLength
        self.pools = pools
    }

    /// The pool of draft `j` (0 when all drafts share one law).
    package func pool(ofDraft j: Int) -> Int { pools?.poolOfDraft[j] ?? 0 }

    /// p_k(·|node) of pool `k` at a node one of its drafts continues past.
    package func draftLaw(at node: Int, pool k: Int) -> SparseDistribution {
        guard let pools else { return draftLaw(at: node) }
        guard let law = pools.rows[k][node] else { preconditionFailure("pool \(k) has no row at node \(node)") }
        return law
    }

    /// The pools in the order they are tried (just pool 0 when all drafts share one law).
    package var poolOrder: Range<Int> { 0..<(pools?.count ?? 1) }

    /// The drafts of pool `k` through `node` with their tokens past it: the problem a verifier for
    /// one law faces when it takes up pool `k` at `node`, and the map from its nodes to this
    /// problem's.
    package func subproblem(pool k: Int, from node: Int) -> (problem: VerificationProblem, nodes: [Int]) {
        let depth = tree[node].depth
        let suffixes = tree[node].drafts.filter { pool(ofDraft: $0) == k }.map { Array(tree.path(to: tree.leaves[$0]).dropFirst(depth)) }
        let sub = DraftTree(drafts: suffixes)
        let nodes = (0..<sub.count).map { s in sub.path(to: s).reduce(node) { tree.child(of: $0, token: $1)! } }
        let problem = VerificationProblem(
            tree: sub, draft: nodes.indices.map { sub[$0].children.isEmpty ? nil : draftLaw(at: nodes[$0], pool: k) },
            target: nodes.map { target[$0] }, blockLength: blockLength - depth)
        return (problem, nodes)
    }

    /// p(·|node) for a node that has children.
    package func draftLaw(at node: Int) -> SparseDistribution {
        guard let law = draft[node] else { preconditionFailure("no draft distribution at leaf node \(node)") }
        return law
    }

    /// The target row at `node`, patched on the draft support there (empty at leaves), ready for
    /// residual steps.
    package func residualTarget(at node: Int) -> PatchedDistribution {
        PatchedDistribution(base: target[node], patchTokens: draft[node]?.tokens ?? [])
    }
}
