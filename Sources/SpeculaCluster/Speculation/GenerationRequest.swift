import SpeculaCore
import SpeculaModel
import SpeculaNet

/// One client generation inside the coordinator: its context, settings, and its drafts in flight.
struct GenerationRequest {
    let id: UInt64
    /// The client's peer id.
    let client: UInt64
    let clientRequestID: UInt64
    let promptLength: Int
    var context: [Token]
    let maxTokens: Int
    let sampling: SamplingParameters
    let seed: UInt64
    let verifier: any Verifier
    /// The verifier is lossless for drafts of several laws (`VerifierKind.acceptsMixedDrafts`):
    /// its rounds may take drafts from every pool that pays, else from the best pool alone.
    let mixesPools: Bool
    var drafts: Int
    var blockLength: Int
    /// K and γ are chosen by the coordinator each round.
    let adaptive: Bool
    /// The verifier's randomness (a `StreamChoices` in production; scripted in exact tests).
    var choices: any RandomChoices
    /// Detokenizes the output as it streams (models with a tokenizer).
    var text: StreamingDecoder?
    /// The text as clients see it: cut before a stop string.
    var stopFilter: StopStringFilter
    let started: ContinuousClock.Instant

    /// The current round: one `Speculate`, whose drafts stream in over as many target passes as
    /// they keep agreeing with the context (0 before the first).
    var round: UInt64 = 0
    /// Draft indices assigned to each worker (by connection id) in the current round.
    var assignment: [UInt64: [Int]] = [:]
    /// The current round's pools (draft-law fingerprints) in the order the verifier tries them:
    /// `DraftStream.pool` indexes it.
    var roundPools: [String] = []
    /// The current round's drafts, by draft index, as far as they arrived.
    var streams: [Int: DraftStream] = [:]
    /// The current round's audit, if one of its drafts is being drawn again elsewhere.
    var audit: DraftAudit?
    /// The target's row at the next position, when a pass computed it and no token was drawn
    /// from it yet: that token is then drawn coupled with the drafts' tokens there.
    var scoredNext: ScoredPosition?
    /// The request is part of the target pass running now.
    var inPass = false
    /// Since when the request has waited for its drafts' next tokens while the target could score
    /// it, and whether that wait passed the round deadline.
    var waitingSince: ContinuousClock.Instant?
    var waitedPastDeadline = false
    /// Waits so far (names the wait a deadline event is for).
    var waits: UInt64 = 0

    /// A target row for the position after the context, from a finished pass.
    struct ScoredPosition {
        let row: DenseDistribution
        /// The pass scored this position alone (no drafts), while the drafts were being made:
        /// its stats go with the token drawn here.
        let ownPass: PassStats?
    }

    /// When it last sent tokens to its client (nil before its first).
    var lastEmission: ContinuousClock.Instant?
    /// Whether drafts pay for this request in the batch as it is (`BatchPlanner`); an adaptive
    /// request's rounds ask for none while they do not.
    var draftsPay = true
    /// Admission let it run (else it waits for room: `AdmissionControl`).
    var admitted = false

    /// The KV-cache positions it holds at most through its next pass: its context and the
    /// largest draft tree the pass may score.
    var positions: Int { context.count + drafts * blockLength + 1 }

    /// The drafts still agreeing with the context, by draft index.
    var liveStreams: [(index: Int, stream: DraftStream)] {
        streams.filter(\.value.alive).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Whether the round has nothing left to verify from its models: no live draft, or only
    /// model-free drafts (which renew themselves) left of a round that also had a model's. A
    /// round of model-free drafts alone ends after `renewalsPerRound` renewals, so that its
    /// pools (a draft model's workers that joined meanwhile) are chosen again.
    var roundIsOver: Bool {
        let live = liveStreams
        guard !live.isEmpty, live.allSatisfy(\.stream.renews) else { return live.isEmpty }
        return streams.values.contains { !$0.renews } || live.contains { $0.stream.generation >= Self.renewalsPerRound }
    }

    /// Renewals after which a round of model-free drafts alone ends.
    static let renewalsPerRound: UInt32 = 8

    /// Ends every draft of the current round (plain batching takes over).
    mutating func stopDrafts() {
        for index in streams.keys { streams[index]!.stop() }
    }

    var rounds: UInt64 = 0
    var targetPasses: UInt64 = 0
    var acceptedDraftTokens: UInt64 = 0

    var generated: Int { context.count - promptLength }

    /// The `Done` that tells its client it ended for `reason` (at `now`).
    func done(_ reason: FinishReason, at now: ContinuousClock.Instant) -> Done {
        var done = Done()
        done.requestID = clientRequestID
        done.reason = reason
        done.promptTokens = UInt32(promptLength)
        done.generatedTokens = UInt32(generated)
        done.rounds = rounds
        done.targetPasses = targetPasses
        done.acceptedDraftTokens = acceptedDraftTokens
        done.elapsedSeconds = (now - started) / .seconds(1)
        return done
    }

    /// What the planner's estimates depend on besides the models and hardware: the verifier, the
    /// temperature (in tenths, up to 1000; greedy requests are their own regime) and the load
    /// level (`DraftingPayoff.level`): the wait for drafts and the rate of a K measured with one
    /// request say little of 16 sharing the pool.
    struct PlanningRegime: Hashable {
        let verifier: String
        let temperatureTenths: Int
        let loadLevel: Int
    }

    /// The request's regime while `running` requests run.
    func planningRegime(running: Int) -> PlanningRegime {
        PlanningRegime(verifier: verifier.name, temperatureTenths: temperatureTenths, loadLevel: DraftingPayoff.level(running: running))
    }

    /// The regime its pools' acceptance is kept for (`PoolAcceptance`).
    var poolRegime: PoolAcceptance.Regime {
        PoolAcceptance.Regime(verifier: verifier.name, temperatureTenths: temperatureTenths)
    }

    /// The temperature in tenths, up to 1000; −1 for greedy requests (their own regime).
    private var temperatureTenths: Int {
        sampling.isGreedy ? -1 : Int((min(sampling.temperature, 1000) * 10).rounded())
    }

    /// Appends the tokens a pass (or a coupled draw) chose, as far as the request takes them: up
    /// to its length limit and through the first end-of-sequence token. Ends the drafts that now
    /// disagree, decodes the text, and says whether the tokens finish the request (length, end of
    /// sequence, a stop string in the text so far); the text is cut before a stop string.
    mutating func append(_ tokens: [Token], acceptedDraftTokens accepted: Int,
                         endOfSequence eos: Token?) -> (emitted: [Token], text: String, finish: FinishReason?) {
        var emitted = Array(tokens.prefix(maxTokens - generated))
        var finish: FinishReason?
        if let eos, let at = emitted.firstIndex(of: eos) {
            emitted = Array(emitted[...at])
            finish = .endOfSequence
        }
        context += emitted
        for index in streams.keys { streams[index]!.check(against: context) }
        acceptedDraftTokens += UInt64(min(accepted, emitted.count))
        if finish == nil && generated >= maxTokens { finish = .length }
        var delta = ""
        if var decoder = text {
            var decoded = decoder.append(emitted.filter { $0 != eos })
            if finish != nil { decoded += decoder.finish() }
            text = decoder
            let (released, stopped) = stopFilter.append(decoded, final: finish != nil)
            delta = released
            if stopped { finish = .stop }
        }
        return (emitted, delta, finish)
    }
}
