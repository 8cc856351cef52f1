package import SpeculaCore

/// Merges a round's drafts into the tree a verifier gets, with the draft row at every internal
/// node: node u at depth d takes row d of the first draft through u that goes deeper (all drafts
/// through u share its prefix, so they shipped the same row there).
package enum PassTree {
    /// The tree, its rows, and which of `drafts` it holds: a draft whose token at some depth is
    /// outside the row the tree takes there (a worker shipped another row for the same prefix)
    /// is left out, so malformed drafts cannot make the verifier divide by a zero probability.
    package static func build(drafts: [[Token]], rows: [[SparseDistribution]]) -> (tree: DraftTree, draftRows: [SparseDistribution?], kept: [Int]) {
        var rowAt: [[Token]: SparseDistribution] = [:]
        var kept: [Int] = []
        for (j, draft) in drafts.enumerated() {
            let fits = draft.indices.allSatisfy { d in (rowAt[Array(draft[..<d])] ?? rows[j][d]).probability(of: draft[d]) > 0 }
            guard fits else { continue }
            for d in draft.indices where rowAt[Array(draft[..<d])] == nil { rowAt[Array(draft[..<d])] = rows[j][d] }
            kept.append(j)
        }
        let tree = DraftTree(drafts: kept.map { drafts[$0] })
        let draftRows: [SparseDistribution?] = (0..<tree.count).map { node in
            tree[node].children.isEmpty ? nil : rowAt[tree.path(to: node)]
        }
        return (tree, draftRows, kept)
    }
}
