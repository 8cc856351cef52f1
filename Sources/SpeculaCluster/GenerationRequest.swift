import Foundation
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// One client generation inside the coordinator: its context, settings and the round in flight.
struct GenerationRequest {
    let id: UInt64
    let client: Connection
    let clientRequestID: UInt64
    let promptLength: Int
    var context: [Token]
    let maxTokens: Int
    let sampling: SamplingParameters
    let seed: UInt64
    let verifier: any Verifier
    var drafts: Int
    var blockLength: Int
    /// K and γ are chosen by the coordinator each round.
    let adaptive: Bool
    var choices: StreamChoices
    /// Detokenizes the output as it streams (models with a tokenizer).
    var text: StreamingDecoder?
    let stop: [String]
    var generatedText = ""
    let started = Date()

    var round: UInt64 = 0
    /// Draft indices assigned to each worker (by connection id) in the current round.
    var assignment: [UInt64: [Int]] = [:]
    /// Blocks received in the current round, by worker.
    var received: [UInt64: [DraftBlock]] = [:]
    var roundStarted = Date()
    /// The current round's draft set is fixed (waiting for or in its target pass).
    var closed = false
    /// The target's own first token of the current round (decoded while its drafts were being
    /// made), and the drafts fixed while that pass was still running.
    var whileDrafting = DecodeWhileDrafting.idle
    /// The last round's tree was accepted whole: its workers may have drafted this round ahead.
    var lastRoundAcceptedWhole = false

    /// The length of the blocks the current round asks of its workers: one more than γ when the
    /// target decodes the round's first token itself.
    var draftedBlockLength: Int {
        if case .idle = whileDrafting { blockLength } else { blockLength + 1 }
    }

    /// Where a round's decoding-while-drafting stands.
    enum DecodeWhileDrafting {
        case idle
        /// The target's pass is running; `fixed` holds the round's drafts once they are fixed.
        case decoding(fixed: FixedDrafts?)
        /// The pass is done, the drafts are not fixed yet: the token waits for their first tokens.
        case scored(OwnPass)
        /// The target's token is chosen (and emitted); the drafts serve from their second token.
        case decoded(Token, at: Date)
    }

    /// The target's pass for a round's first token: its row there, when it ended, what it cost.
    struct OwnPass {
        let row: DenseDistribution
        let at: Date
        let micros: Double
        let batch: Int
    }

    /// A round's drafts as fixed at its close, in draft-index order.
    struct FixedDrafts {
        let blocks: [(index: Int, block: DraftBlock)]
        let at: Date
    }

    var rounds: UInt64 = 0
    var targetPasses: UInt64 = 0
    var acceptedDraftTokens: UInt64 = 0

    var generated: Int { context.count - promptLength }

    /// What the planner's estimates depend on besides the models and hardware: the verifier and
    /// the temperature (in tenths; greedy requests are their own regime).
    struct PlanningRegime: Hashable {
        let verifier: String
        let temperatureTenths: Int
    }

    var planningRegime: PlanningRegime {
        PlanningRegime(verifier: verifier.name, temperatureTenths: sampling.isGreedy ? -1 : Int((sampling.temperature * 10).rounded()))
    }

    /// True when every worker still assigned has delivered all its drafts.
    var allDraftsArrived: Bool {
        assignment.allSatisfy { worker, indices in (received[worker]?.count ?? 0) >= indices.count }
    }
}
