/// Drafts of several laws in one round: which pool (draft model, or model-free drafter) each draft
/// came from, and every pool's own row at each node its drafts continue past.
///
/// A pool's drafts are i.i.d. samples from one law, so a multi-draft verifier may treat them as one
/// `VerificationProblem.draft` row per node; drafts of different pools may not be (two drafts
/// through one node can have been drawn from different rows there). The pools are numbered in the
/// order a verifier that tries them in turn takes them (`MixedBlockVerifier`): the coordinator puts
/// first the pool it expects most accepted tokens from, never by what the drafts contain.
package struct DraftPools: Sendable {
    /// `poolOfDraft[j]`: the pool draft j came from.
    package let poolOfDraft: [Int]
    /// `rows[k][node]`: p_k(·|path(node)), for every node a draft of pool k continues past (nil
    /// elsewhere).
    package let rows: [[SparseDistribution?]]

    package init(poolOfDraft: [Int], rows: [[SparseDistribution?]]) {
        precondition(poolOfDraft.allSatisfy { rows.indices.contains($0) }, "every draft's pool has rows")
        self.poolOfDraft = poolOfDraft
        self.rows = rows
    }

    package var count: Int { rows.count }

    /// The drafts of pool `k`, ascending.
    package func drafts(of k: Int) -> [Int] { poolOfDraft.indices.filter { poolOfDraft[$0] == k } }
}
