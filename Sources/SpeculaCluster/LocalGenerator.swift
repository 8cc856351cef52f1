package import Logging
package import SpeculaCore
package import SpeculaNet

/// Speculative generation in one process, without a network: a second shell over
/// `SpeculationCore` — the cluster's algorithm exactly, streamed drafts, coupling, stop strings
/// and all — with an in-process drafter (`DraftSession`) as its one worker and the target scored
/// in the same thread. `specula generate --local` and `specula bench e2e` use it for side-by-side
/// comparisons.
///
/// Timing is the one difference, and it changes no law: the drafter runs until it can draft no
/// further (its lookahead) before the target is asked for a pass, and the request waits for its
/// drafts instead of decoding alone meanwhile (`decodeWhileDrafting` off: on one thread the
/// target would only delay the drafter).
package final class LocalGenerator {
    /// What to generate and how.
    package struct Settings: Sendable {
        package var verifier: VerifierKind
        /// K; 0 = the target decodes alone.
        package var drafts: Int
        package var blockLength: Int
        package var sampling: SamplingParameters
        package var maxSupport: UInt32 = 64
        package var seed: UInt64 = 0
        package var maxTokens: Int

        package init(verifier: VerifierKind, drafts: Int, blockLength: Int, sampling: SamplingParameters, maxTokens: Int) {
            (self.verifier, self.drafts, self.blockLength, self.sampling, self.maxTokens) = (verifier, drafts, blockLength, sampling, maxTokens)
        }

        /// The request a client would send for these settings.
        func request(prompt: [Token]) -> GenerateRequest {
            var request = GenerateRequest()
            request.promptTokens = prompt.map { UInt32($0) }
            request.maxTokens = UInt32(maxTokens)
            request.sampling = sampling.wire
            request.seed = seed
            request.verifier = verifier.rawValue
            request.numDrafts = UInt32(drafts)
            request.blockLength = UInt32(blockLength)
            request.noDraft = drafts == 0
            request.allowLossy = !verifier.isLossless
            return request
        }
    }

    /// What a generation cost.
    package struct Stats: Sendable, Codable {
        package var generated = 0
        package var targetPasses = 0
        package var acceptedDraftTokens = 0
        package var draftSeconds = 0.0
        package var targetSeconds = 0.0
        package var verifySeconds = 0.0
        package var totalSeconds = 0.0
        /// Passes with drafts whose tree was accepted at least up to position i + 1.
        package var acceptedAt: [Int] = []
        package var draftedRounds = 0

        package var tokensPerPass: Double { Double(generated) / Double(max(targetPasses, 1)) }

        package init() {}
    }

    /// Why a generation did not run: the core refused its request.
    package struct Refusal: Error, CustomStringConvertible {
        package let description: String
    }

    private let target: ClusterModel
    private let drafter: Drafter?
    private let scorer: any TargetScorer
    private let logger: Logger
    private static let (client, worker): (UInt64, UInt64) = (1, 2)

    package init(target: ClusterModel, draft: ClusterModel?, logger: Logger = Logger(label: "specula.local")) {
        self.target = target
        self.drafter = draft.map { Drafter(model: $0) }
        self.scorer = target.makeScorer()
        self.logger = logger
    }

    /// Generates after `prompt` (non-empty); `onTokens` gets each pass's new tokens.
    package func generate(prompt: [Token], settings: Settings, onTokens: ([Token]) -> Void = { _ in }) throws(Refusal) -> (tokens: [Token], stats: Stats) {
        try generate(settings.request(prompt: prompt), maxSupport: settings.maxSupport, onTokens: onTokens)
    }

    /// Generates what a client's `request` asks for, as a coordinator would (checked by
    /// `GenerationSpec`, refused with the same words); `onTokens` gets each pass's new tokens.
    package func generate(_ request: GenerateRequest, maxSupport: UInt32 = 64,
                          onTokens: ([Token]) -> Void = { _ in }) throws(Refusal) -> (tokens: [Token], stats: Stats) {
        var options = CoordinatorOptions()
        (options.decodeWhileDrafting, options.draftsWhileScoring) = (false, false)
        (options.auditFraction, options.maxSupport) = (0, maxSupport)
        var core = SpeculationCore(target: target, options: options, logger: logger)
        var session = drafter.map { DraftSession(drafter: $0, maxDrafts: 64, maxLookahead: 64, metrics: MetricsRegistry(), nodeID: "local") }
        let started = ContinuousClock.now
        var run = Run()
        var actions = join(&core, drafter: drafter)
        actions += core.received(.generate(request), from: Self.client, at: .now)
        var deadlines: [(request: UInt64, wait: UInt64)] = []
        while true {
            var due: [UInt64] = []
            for action in actions {
                switch action {
                case .send(let message, Self.worker): due += deliver(message, to: &session)
                case .send(let message, _): try run.take(message, onTokens: onTokens)
                case .score(let pass): run.pending = pass
                case .commit(let request, let nodes): scorer.accept(request: request, nodes: nodes)
                case .release(let request): scorer.release(request: request)
                case .armDeadline(let request, let wait, _): deadlines.append((request, wait))
                case .disconnect(_, let error): throw Refusal(description: error.message)
                case .admit: break
                }
            }
            actions = []
            if run.finished { break }
            let drafting = ContinuousClock.now
            // The drafter runs until no draft can grow, its tokens going to the core as they come.
            while let id = due.first {
                guard let blocks = session?.step(id) else { due.removeFirst(); continue }
                for block in blocks { actions += core.received(.draftToken(block), from: Self.worker, at: .now) }
            }
            run.stats.draftSeconds += (ContinuousClock.now - drafting) / .seconds(1)
            guard actions.isEmpty else { continue }
            actions = core.schedule(at: .now)
            if let pass = run.pending {
                run.pending = nil
                let scoring = ContinuousClock.now
                let rows = scorer.scoreBatch(pass.items)
                let verifying = ContinuousClock.now
                actions += core.passFinished(pass, rows: rows, duration: verifying - scoring, at: verifying)
                run.stats.targetSeconds += (verifying - scoring) / .seconds(1)
                run.stats.verifySeconds += (ContinuousClock.now - verifying) / .seconds(1)
            } else if actions.isEmpty, !deadlines.isEmpty {
                // Nothing else can happen: the waits that are armed are over.
                let (request, wait) = deadlines.removeFirst()
                actions = core.waitDeadline(request: request, wait: wait, at: .now)
            } else if actions.isEmpty {
                preconditionFailure("the local generation stalled: no pass, no draft, no deadline")
            }
        }
        run.stats.totalSeconds = (ContinuousClock.now - started) / .seconds(1)
        return (run.tokens, run.stats)
    }

    /// The client and (with a draft model) the worker join the core.
    private func join(_ core: inout SpeculationCore, drafter: Drafter?) -> [SpeculationAction] {
        var hello = Hello()
        hello.role = .client
        var actions = core.opened(Self.client, challenge: nil) + core.received(.hello(hello), from: Self.client, at: .now)
        guard let drafter else { return actions }
        hello.role = .worker
        hello.nodeID = "local"
        hello.modelFingerprint = drafter.fingerprint
        hello.tokenizerFingerprint = drafter.tokenizerFingerprint
        hello.vocabSize = UInt32(drafter.vocabularySize)
        actions += core.opened(Self.worker, challenge: nil) + core.received(.hello(hello), from: Self.worker, at: .now)
        return actions
    }

    /// A message to the in-process worker; returns the requests it now has drafting to do.
    private func deliver(_ message: Message, to session: inout DraftSession?) -> [UInt64] {
        switch message {
        case .speculate(let speculate):
            _ = session?.begin(speculate, stale: false)
            return [speculate.requestID]
        case .accepted(let accepted):
            _ = session?.follow(accepted)
            return [accepted.requestID]
        case .cancel(let cancel):
            session?.cancel(cancel.requestID)
        default:
            break
        }
        return []
    }

    /// The client's side of one generation: its tokens and stats as they arrive.
    private struct Run {
        var stats = Stats()
        var tokens: [Token] = []
        var pending: TargetPass?
        var finished = false

        mutating func take(_ message: Message, onTokens: ([Token]) -> Void) throws(Refusal) {
            switch message {
            case .tokenChunk(let chunk):
                let new = chunk.tokens.map(Int.init)
                tokens += new
                onTokens(new)
                for pass in chunk.passes where pass.drafts > 0 && !pass.decodedWhileDrafting {
                    stats.draftedRounds += 1
                    if stats.acceptedAt.count < Int(pass.depth) { stats.acceptedAt += Array(repeating: 0, count: Int(pass.depth) - stats.acceptedAt.count) }
                    for i in 0..<Int(pass.accepted) { stats.acceptedAt[i] += 1 }
                }
            case .done(let done):
                stats.generated = Int(done.generatedTokens)
                stats.targetPasses = Int(done.targetPasses)
                stats.acceptedDraftTokens = Int(done.acceptedDraftTokens)
                finished = true
            case .error(let error):
                throw Refusal(description: error.message)
            default:
                break
            }
        }
    }
}
