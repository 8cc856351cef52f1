import Logging
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Drives the real `SpeculationCore` through a scripted order of events — draft tokens arriving,
/// target passes finishing — with a toy target and a scripted worker, and returns the tokens the
/// client gets. Every random step (the worker's draft draws, the verifier's coins) goes through
/// one `ScriptedChoices`, so `ChoiceEnumerator` gives the exact law of the output for a script.
struct CoreScript {
    /// One step of a script.
    enum Event: Hashable, CustomStringConvertible {
        /// The worker sends the next token of draft j (if that draft can still grow).
        case deliver(Int)
        /// The running target pass finishes (if one runs).
        case finishPass

        var description: String {
            switch self {
            case .deliver(let j): "d\(j)"
            case .finishPass: "P"
            }
        }
    }

    /// What a worker does wrong, for the negative controls.
    enum WorkerFault {
        /// Ships a uniform row over the support in place of the row its token was drawn from.
        case wrongRows
    }

    let target: NGramModel
    let draft: NGramModel
    let targetModel: ClusterModel
    let prompt: [Token]
    let sampling: SamplingParameters
    var options = CoordinatorOptions()
    var workerFault: WorkerFault?
    /// The request leaves K and γ to the coordinator (within `options.limits`), so that its
    /// batch-level choices (`DraftSupply`, `DraftingPayoff`) apply to it.
    var adaptive = false

    static let (client, worker): (UInt64, UInt64) = (1, 2)
    static let quiet = Logger(label: "specula.test") { _ in SwiftLogNoOpLogHandler() }

    /// `eos`: the toys' end-of-sequence token, if they have one.
    init(seed: UInt64, vocabulary: Int = 3, temperature: Double = 1, eos: Token? = nil, prompt: [Token] = [1, 0]) throws {
        let pair = RandomToyModels.pair(vocabularySize: vocabulary, order: 3, seed: seed, endOfSequence: eos)
        (target, draft, self.prompt) = (pair.target, pair.draft, prompt)
        targetModel = ClusterModel.toy(pair.target, fingerprint: "target-\(seed)")
        sampling = SamplingParameters(temperature: temperature)
        // The scripted worker draws with the enumerator, not with the draft's named stream.
        options.trustsWorkers = true
        options.auditFraction = 0
    }

    /// The exact law of the target's whole outputs: `maxTokens` tokens, or fewer ending at EOS.
    func targetLaw(maxTokens: Int) -> [[Token]: Double] {
        target.outputLaw(after: prompt, maxTokens: maxTokens, sampling: sampling)
    }

    /// The exact law of the client's output under `script` (then the completion policy).
    func law(_ script: [Event], verifier: VerifierKind, drafts: Int, blockLength: Int, maxTokens: Int) -> [[Token]: Double] {
        ChoiceEnumerator.law { choices in
            run(script, verifier: verifier, drafts: drafts, blockLength: blockLength, maxTokens: maxTokens, choices: &choices)
        }
    }

    /// One run down one branch of `choices`. After the script: a running pass finishes first,
    /// else the lowest draft that can grow delivers, else the newest armed wait deadline fires.
    func run(_ script: [Event], verifier: VerifierKind, drafts: Int, blockLength: Int, maxTokens: Int,
             choices: inout ScriptedChoices) -> [Token] {
        let shared = SharedChoices(choices)
        defer { choices = shared.choices }
        let scorer = targetModel.makeScorer()
        var core = SpeculationCore(target: targetModel, options: options, logger: Self.quiet, auditSeed: 1, makeChoices: { _ in shared })
        var state = State(worker: ScriptedWorker(draft: draft, sampling: sampling, fault: workerFault))
        let now = ContinuousClock.now
        var hello = Hello()
        hello.role = .client
        state.perform(core.opened(Self.client, challenge: nil) + core.received(.hello(hello), from: Self.client, at: now))
        (hello.role, hello.nodeID, hello.modelFingerprint) = (.worker, "scripted", "draft")
        (hello.tokenizerFingerprint, hello.vocabSize) = (targetModel.tokenizerFingerprint, UInt32(target.vocabularySize))
        state.perform(core.opened(Self.worker, challenge: nil) + core.received(.hello(hello), from: Self.worker, at: now))
        var request = GenerateRequest()
        (request.requestID, request.promptTokens, request.maxTokens) = (7, prompt.map { UInt32($0) }, UInt32(maxTokens))
        (request.sampling, request.verifier) = (sampling.wire, verifier.rawValue)
        (request.numDrafts, request.blockLength) = adaptive ? (0, 0) : (UInt32(drafts), UInt32(blockLength))
        request.allowLossy = !verifier.isLossless
        state.perform(core.received(.generate(request), from: Self.client, at: now))
        state.perform(core.schedule(at: now))
        var events = script[...]
        for _ in 0..<10_000 where !state.done {
            let event = events.popFirst() ?? (state.pass != nil ? .finishPass : (0..<drafts).first(where: state.worker.canGrow).map(Event.deliver))
            switch event {
            case .deliver(let j):
                if state.worker.canGrow(j) {
                    let block = state.worker.next(j, choices: shared)
                    state.perform(core.received(.draftToken(block), from: Self.worker, at: now))
                }
            case .finishPass:
                if let pass = state.pass {
                    state.pass = nil
                    let rows = scorer.scoreBatch(pass.items)
                    state.perform(core.passFinished(pass, rows: rows, duration: .milliseconds(1), at: now))
                }
            case nil:
                guard let (id, wait) = state.deadlines.popLast() else { preconditionFailure("the core stalled") }
                state.perform(core.waitDeadline(request: id, wait: wait, at: now))
            }
            state.perform(core.schedule(at: now))
        }
        precondition(state.done, "no Done after 10 000 events")
        return state.output
    }

    /// What the shell has seen so far.
    private struct State {
        var worker: ScriptedWorker
        var output: [Token] = []
        var done = false
        var pass: TargetPass?
        var deadlines: [(UInt64, UInt64)] = []

        mutating func perform(_ actions: [SpeculationAction]) {
            for action in actions {
                switch action {
                case .send(let message, CoreScript.worker): worker.take(message)
                case .send(.tokenChunk(let chunk), _): output += chunk.tokens.map(Int.init)
                case .send(.done, _): done = true
                case .send(.error(let error), _): preconditionFailure("refused: \(error.message)")
                case .score(let pass): self.pass = pass
                case .armDeadline(let request, let wait, _): deadlines.append((request, wait))
                default: break
                }
            }
        }
    }
}

/// A worker whose draws come from the enumerator: it follows `Speculate` and `Accepted` like a
/// real one and drafts each token from the draft model's shipped row.
struct ScriptedWorker {
    let draft: NGramModel
    let sampling: SamplingParameters
    let fault: CoreScript.WorkerFault?
    private var context: [Token] = []
    private var speculate = Speculate()
    private var drafts: [[Token]] = []
    private var alive: [Bool] = []

    init(draft: NGramModel, sampling: SamplingParameters, fault: CoreScript.WorkerFault?) {
        (self.draft, self.sampling, self.fault) = (draft, sampling, fault)
    }

    private var base: Int { Int(speculate.contextPosition) + speculate.contextTokens.count }

    mutating func take(_ message: Message) {
        switch message {
        case .speculate(let s):
            context = Array(context.prefix(Int(s.contextPosition))) + s.contextTokens.map(Int.init)
            speculate = s
            drafts = Array(repeating: [], count: Int(s.numDrafts))
            alive = Array(repeating: true, count: Int(s.numDrafts))
        case .accepted(let accepted):
            context += accepted.tokens.map(Int.init)
            for j in drafts.indices where !agrees(j) { alive[j] = false }
        default:
            break
        }
    }

    private func agrees(_ j: Int) -> Bool {
        zip(drafts[j], context.dropFirst(base)).allSatisfy { $0 == $1 }
    }

    /// Whether draft j is alive, has not ended at EOS and is within its lookahead.
    func canGrow(_ j: Int) -> Bool {
        j < drafts.count && alive[j] && (drafts[j].last.map { $0 != draft.endOfSequence } ?? true)
            && base + drafts[j].count - context.count < Int(speculate.lookahead)
    }

    mutating func next(_ j: Int, choices: SharedChoices) -> DraftToken {
        var row = SparseShipping.ship(draft.distribution(after: Array(context.prefix(base)) + drafts[j], sampling: sampling), maxSupport: 0)
        let token = choices.draw(from: SparseShipping.distribution(row, vocabularySize: draft.vocabularySize)!)
        if fault == .wrongRows { row.probabilities = row.probabilities.map { _ in 1 } }
        drafts[j].append(token)
        if !agrees(j) { alive[j] = false }
        var block = DraftToken()
        (block.requestID, block.round, block.draftIndex) = (speculate.requestID, speculate.round, UInt32(j))
        (block.basePosition, block.tokens, block.distributions) = (UInt32(base + drafts[j].count - 1), [UInt32(token)], [row])
        return block
    }
}

/// One `ScriptedChoices` shared by the core (through the request's verifier randomness) and the
/// scripted worker, so that every random step of a run is on one enumerated script.
final class SharedChoices: RandomChoices {
    var choices: ScriptedChoices

    init(_ choices: ScriptedChoices) { self.choices = choices }

    func bernoulli(_ p: Double) -> Bool { choices.bernoulli(p) }
    func draw<Law: TokenLaw>(from law: Law) -> Token { choices.draw(from: law) }
}
