package import SpeculaCore

/// Merges a round's drafts into the tree a verifier gets, with the draft row at every internal
/// node: node u at depth d takes row d of the first draft through u that goes deeper (all drafts
/// through u share its prefix, so they shipped the same row there).
package enum RoundTree {
    package static func build(drafts: [[Token]], rows: [[SparseDistribution]]) -> (tree: DraftTree, draftRows: [SparseDistribution?]) {
        let tree = DraftTree(drafts: drafts)
        let draftRows: [SparseDistribution?] = (0..<tree.count).map { node in
            guard !tree[node].children.isEmpty else { return nil }
            let depth = tree[node].depth
            let j = tree[node].drafts.first { drafts[$0].count > depth }!
            return rows[j][depth]
        }
        return (tree, draftRows)
    }
}
