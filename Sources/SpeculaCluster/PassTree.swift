package import SpeculaCore

/// Merges a round's drafts into the tree a verifier gets, with the draft rows at every internal
/// node. Node u at depth d takes, for each pool with a draft through u that goes deeper, row d of
/// the first such draft of the pool (all drafts of one pool through u share its prefix, so they
/// shipped the same row there); `draftRows` holds the row of the first draft through u that goes
/// deeper, which is all a verifier for one law reads.
package struct PassTree {
    package let tree: DraftTree
    package let draftRows: [SparseDistribution?]
    /// Which of the drafts given the tree holds: a draft whose token at some depth is outside the
    /// row its pool's drafts keep there (a worker shipped another row for the same prefix) is left
    /// out, so malformed drafts cannot make the verifier divide by a zero probability.
    package let kept: [Int]
    /// Each pool's rows when the kept drafts come from more than one pool.
    package let pools: DraftPools?

    /// `pools[j]`: the pool (index in the round's pool order) of draft j; nil when all are of one.
    package init(drafts: [[Token]], rows: [[SparseDistribution]], pools: [Int]? = nil) {
        let poolOf = pools ?? Array(repeating: 0, count: drafts.count)
        var rowAt: [[Token]: [Int: SparseDistribution]] = [:]
        var kept: [Int] = []
        for (j, draft) in drafts.enumerated() {
            let k = poolOf[j]
            let fits = draft.indices.allSatisfy { d in (rowAt[Array(draft[..<d])]?[k] ?? rows[j][d]).probability(of: draft[d]) > 0 }
            guard fits else { continue }
            for d in draft.indices where rowAt[Array(draft[..<d])]?[k] == nil { rowAt[Array(draft[..<d]), default: [:]][k] = rows[j][d] }
            kept.append(j)
        }
        let tree = DraftTree(drafts: kept.map { drafts[$0] })
        let keptPools = kept.map { poolOf[$0] }
        self.tree = tree
        self.kept = kept
        self.draftRows = (0..<tree.count).map { node in
            tree[node].children.first.map { child in rowAt[tree.path(to: node)]![keptPools[tree[child].drafts[0]]]! }
        }
        guard Set(keptPools).count > 1 else {
            self.pools = nil
            return
        }
        let poolRows = (0...keptPools.max()!).map { k in
            (0..<tree.count).map { node in tree[node].children.isEmpty ? nil : rowAt[tree.path(to: node)]?[k] }
        }
        self.pools = DraftPools(poolOfDraft: keptPools, rows: poolRows)
    }

    /// The verification problem of the tree against the target's rows at its nodes.
    package func problem(target: [DenseDistribution], blockLength: Int) -> VerificationProblem {
        VerificationProblem(tree: tree, draft: draftRows, target: target, blockLength: blockLength, pools: pools)
    }
}
