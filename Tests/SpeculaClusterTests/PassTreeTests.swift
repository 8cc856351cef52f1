import SpeculaCluster
import SpeculaCore
import Testing

/// Merging a round's drafts: shared prefixes share nodes and rows; a draft whose token falls
/// outside the row the tree keeps for its prefix (its worker shipped another row there) is left
/// out instead of reaching the verifier.
struct RoundTreeTests {
    static func row(_ pairs: [(Token, Double)]) -> SparseDistribution {
        SparseDistribution(tokens: pairs.map(\.0), weights: pairs.map(\.1))
    }

    @Test func draftsWithTheSameRowsShareTheirPrefix() {
        let first = Self.row([(1, 0.6), (4, 0.4)]), second = Self.row([(2, 0.5), (3, 0.5)])
        let merged = PassTree(drafts: [[1, 2], [1, 3]], rows: [[first, second], [first, second]])
        let (tree, rows, kept) = (merged.tree, merged.draftRows, merged.kept)
        #expect(kept == [0, 1])
        #expect(tree.count == 4, "root, 1, and its children 2 and 3")
        #expect(rows[0] == first && rows[1] == second && rows[2] == nil && rows[3] == nil)
    }

    @Test func aDraftOutsideTheKeptRowIsLeftOut() {
        let root = Self.row([(1, 1)])
        let merged = PassTree(drafts: [[1, 2], [1, 3], [1, 2]], rows: [[root, Self.row([(2, 1)])], [root, Self.row([(3, 1)])], [root, Self.row([(2, 1)])]])
        let (tree, rows, kept) = (merged.tree, merged.draftRows, merged.kept)
        #expect(kept == [0, 2], "the second draft's 3 has no probability under the row kept after 1")
        #expect(tree.count == 3)
        #expect(rows[1] == Self.row([(2, 1)]))
    }

    @Test func draftsOfTwoPoolsKeepTheirOwnRowsAtASharedPrefix() {
        let lookup = Self.row([(1, 1)]), model = Self.row([(1, 0.5), (2, 0.5)])
        let after = Self.row([(3, 1)])
        let merged = PassTree(drafts: [[1, 3], [1], [2]], rows: [[model, after], [lookup], [model]], pools: [0, 1, 0])
        #expect(merged.kept == [0, 1, 2], "a point mass at the root does not exclude the model's other token")
        let pools = try! #require(merged.pools)
        #expect(pools.poolOfDraft == [0, 1, 0])
        #expect(pools.rows[0][0] == model && pools.rows[1][0] == lookup, "each pool's own row at the shared root")
        #expect(pools.rows[0][1] == after && pools.rows[1][1] == nil, "only pool 0 goes past token 1")
        #expect(merged.draftRows[0] == model, "the one-law row is the first draft's")
    }
}
