/// Everything one verifier call needs: the draft tree, the draft's distribution at every internal
/// node and the target's distribution at every node.
///
/// Shapes: `draft[node]` is p(·|context, path(node)) for every node with children (nil for leaves:
/// nobody drafted past them); `target[node]` is q(·|context, path(node)) for every node, leaves
/// included (a leaf's row gives the bonus token). Both are *after* the request's sampling
/// transform. The verifier's guarantee needs the drafts to be samples from exactly `draft`.
package struct VerificationProblem: Sendable {
    package let tree: DraftTree
    package let draft: [SparseDistribution?]
    package let target: [DenseDistribution]
    /// γ, the block length the drafts were asked for (a draft may be shorter: EOS).
    package let blockLength: Int

    package init(tree: DraftTree, draft: [SparseDistribution?], target: [DenseDistribution], blockLength: Int) {
        precondition(draft.count == tree.count && target.count == tree.count, "one row per tree node")
        for node in 0..<tree.count where !tree[node].children.isEmpty {
            precondition(draft[node] != nil, "node \(node) has children but no draft distribution")
        }
        self.tree = tree
        self.draft = draft
        self.target = target
        self.blockLength = blockLength
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
