import SpeculaNet

/// The lines `specula generate --json` prints for a cluster generation: one per target pass that
/// yielded tokens, then one when the request ends. Written through `JSONOutput` (sorted keys, one
/// line each); times in whole microseconds.
enum GenerationJSONLines {
    /// What one target pass did for the request (`PassStats`).
    struct Pass: Encodable {
        let round: UInt64
        let drafts: UInt32
        let depth: UInt32
        let accepted: UInt32
        let draftIndex: Int32
        let waitUs: Int
        let targetUs: Int
        let batch: UInt32
        let adaptive: Bool
        let continuedDrafts: UInt32
        let acceptanceEstimate: Double
        /// Fixed and per-token cost of a target pass, as the planner sees it.
        let passCostUs: [Double]
        let draftWaitPerTokenUs: Int
        let decodedWhileDrafting: Bool
        /// The draft pools whose drafts the pass verified, in the verifier's order.
        let pools: [String]

        init(_ stats: PassStats) {
            (round, drafts, depth, accepted, draftIndex) = (stats.round, stats.drafts, stats.depth, stats.accepted, stats.draftIndex)
            (waitUs, targetUs, batch) = (Int(stats.waitMicros), Int(stats.targetMicros), stats.batchSize)
            (adaptive, continuedDrafts, acceptanceEstimate) = (stats.adaptive, stats.continuedDrafts, stats.acceptanceEstimate)
            passCostUs = [stats.passCostFixedMicros.rounded(), stats.passCostPerTokenMicros]
            draftWaitPerTokenUs = Int(stats.draftWaitPerTokenMicros)
            (decodedWhileDrafting, pools) = (stats.decodedWhileDrafting, stats.pools)
        }

        enum CodingKeys: String, CodingKey {
            case round, drafts, depth, accepted, adaptive, batch, pools
            case draftIndex = "draft_index", waitUs = "wait_us", targetUs = "target_us"
            case continuedDrafts = "continued_drafts", acceptanceEstimate = "acceptance_estimate"
            case passCostUs = "pass_cost_us", draftWaitPerTokenUs = "draft_wait_per_token_us"
            case decodedWhileDrafting = "decoded_while_drafting"
        }
    }

    /// How the request ended.
    struct End: Encodable {
        let done: String
        let generated: UInt32
        let rounds: UInt64
        let targetPasses: UInt64
        let acceptedDraftTokens: UInt64
        let seconds: Double

        init(_ done: Done) {
            (self.done, generated, rounds, targetPasses) = ("\(done.reason)", done.generatedTokens, done.rounds, done.targetPasses)
            (acceptedDraftTokens, seconds) = (done.acceptedDraftTokens, done.elapsedSeconds)
        }

        enum CodingKeys: String, CodingKey {
            case done, generated, rounds, seconds
            case targetPasses = "target_passes", acceptedDraftTokens = "accepted_draft_tokens"
        }
    }
}
