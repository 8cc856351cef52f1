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
    /// When the current round's last assigned draft arrived.
    var draftsArrived: Date?
    /// The context length the current round's drafts start from (what the workers were sent);
    /// the round's `Accepted` carries every token from there.
    var roundBase = 0
    /// The current round's draft set is fixed (waiting for or in its target pass).
    var closed = false
    /// The target is decoding a token of its own while this round's drafts are in flight
    /// (`CoordinatorCore.startSelfDecode`); the round closes after it.
    var selfDecoding = false
    /// The round wanted to close while the target was decoding on its own.
    var closeAfterSelfDecode = false
    /// The next round's drafts will be drafted from scratch (the last block was not accepted
    /// whole, so no worker drafted ahead correctly): the target decodes meanwhile.
    var selfDecodeNext = false

    var rounds: UInt64 = 0
    var targetPasses: UInt64 = 0
    var acceptedDraftTokens: UInt64 = 0

    var generated: Int { context.count - promptLength }

    /// True when every worker still assigned has delivered all its drafts.
    var allDraftsArrived: Bool {
        assignment.allSatisfy { worker, indices in (received[worker]?.count ?? 0) >= indices.count }
    }
}
