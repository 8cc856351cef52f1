import Dispatch
import Synchronization
package import Logging
import SpeculaCore
package import SpeculaNet

/// A draft worker: connects to a coordinator (reconnecting with backoff), answers `Speculate` by
/// streaming each requested draft a token at a time as `DraftBlock`s, and follows `Accepted` to
/// keep each request's context.
///
/// A draft is a stream: it keeps growing, a lockstep step at a time (`Drafter.step`), as long as
/// the tokens the coordinator accepts agree with it, up to `block_length` tokens ahead of the
/// accepted context; a draft that disagrees with an accepted token stops, and the next
/// `Speculate` starts new ones. So when a target pass accepts everything it was given, the tokens
/// after it are usually already drafted (and sent).
///
/// Every draft token is sampled from exactly the sparse distribution shipped with it
/// (`SparseShipping`), using the random stream the coordinator named for that draft, so the K
/// drafts of a round are independent samples from one law. Drafting runs on a serial queue of its
/// own, never on the event-loop thread, one step per queue item so messages are handled between
/// steps and requests take turns.
package final class DraftWorker: @unchecked Sendable {
    // @unchecked Sendable invariant: `contexts` and `rounds` are only touched on `drafting`;
    // `connector` is set in `start` before any callback can run.
    package struct Options: Sendable {
        package var nodeID = "worker"
        package var maxDrafts: UInt32 = 16
        package var maxBlockLength: UInt32 = 64
        /// A deliberate lie, for tests only (`Drafter.Lie`).
        package var lie: Drafter.Lie?
        /// The coordinator's shared secret, if it requires one.
        package var authSecret: String?
        /// Where this worker's metrics are recorded (served by `--metrics-port`).
        package var metrics = MetricsRegistry()
        package init() {}
    }

    private let model: ClusterModel
    private let drafter: Drafter
    private let options: Options
    private let logger: Logger
    private let loop: EventLoop
    private let drafting = DispatchQueue(label: "specula.worker.drafting")
    /// The accepted context of each request.
    private var contexts: [UInt64: [Token]] = [:]
    /// The drafts of each request's current round.
    private var rounds: [UInt64: DraftRound] = [:]

    /// One `Speculate`'s drafts at this worker.
    private struct DraftRound {
        let round: UInt64
        let connection: Connection
        let sampling: SamplingParameters
        let maxSupport: Int
        /// How far past the accepted context a draft may run.
        let lookahead: Int
        /// Context position of every draft's first token.
        let base: Int
        var drafts: [Draft]
        /// A drafting step of this round is queued.
        var stepQueued = false
    }

    /// One draft stream: its tokens from the round's base on.
    private struct Draft {
        var choices: StreamChoices
        var tokens: [Token] = []
        var alive = true
    }

    /// The newest Speculate round per request, written on the loop thread as it arrives: the
    /// drafting queue stops stepping an older round at once instead of after the steps queued.
    private let latest = Mutex<[UInt64: UInt64]>([:])
    private var connector: Connector!
    /// Whether this worker currently counts in the `connected` gauge.
    private let countedAsConnected = Atomic<Bool>(false)
    private let onRefused: @Sendable (String) -> Void

    /// `onRefused` runs (on the loop thread) when the coordinator refuses this worker at Hello.
    package init(model: ClusterModel, loop: EventLoop, host: String, port: Int, options: Options, logger: Logger, onRefused: @escaping @Sendable (String) -> Void) {
        self.model = model
        var drafter = Drafter(model: model)
        drafter.lie = options.lie
        self.drafter = drafter
        self.options = options
        self.logger = logger
        self.loop = loop
        self.onRefused = onRefused
        WorkerMetrics.declare(in: options.metrics)
        self.connector = Connector(
            loop: loop, host: host, port: port,
            onAttemptFailed: { [logger] error, retry in
                logger.info("cannot reach coordinator, retrying", metadata: ["error": "\(error)", "retry.ms": "\(Int(retry))"])
            },
            onConnect: { [unowned self] connection in handlers(for: connection) })
    }

    /// Measured drafting speed, announced in Hello so the coordinator can weight assignments.
    private lazy var tokensPerSecond: Double = drafter.measureTokensPerSecond()

    package func start() {
        _ = tokensPerSecond  // measure before the first connection, off the event loop
        connector.start()
    }
    package func stop() { connector.stop() }

    private func handlers(for connection: Connection) -> ConnectionHandlers {
        var hello = Hello()
        hello.role = .worker
        hello.nodeID = options.nodeID
        hello.modelFingerprint = model.fingerprint
        hello.tokenizerFingerprint = model.tokenizerFingerprint
        hello.vocabSize = UInt32(model.vocabularySize)
        hello.capabilities = Capabilities(maxDrafts: options.maxDrafts, maxBlockLength: options.maxBlockLength, draftTokensPerSecond: tokensPerSecond, maxRequests: 0)
        let greeting = HelloSender(hello, secret: options.authSecret)
        greeting.opened(connection)
        return ConnectionHandlers(
            onMessage: { [self] connection, message in
                if case .challenge(let challenge) = message { return greeting.answer(challenge, on: connection) }
                receive(message, on: connection)
            },
            onClose: { [self] _, reason in
                if countedAsConnected.exchange(false, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, -1) }
                logger.info("disconnected from coordinator", metadata: ["reason": "\(reason)"])
                drafting.async { [self] in
                    contexts.removeAll()
                    rounds.removeAll()
                }
            })
    }

    private func receive(_ message: Message, on connection: Connection) {
        switch message {
        case .helloAck(let ack):
            if ack.accepted {
                if !countedAsConnected.exchange(true, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, 1) }
                logger.info("joined coordinator", metadata: ["coordinator": "\(ack.nodeID)", "peer": "\(connection.peer)"])
            } else {
                logger.error("coordinator refused this worker", metadata: ["reason": "\(ack.reason)"])
                connector.stop()
                onRefused(ack.reason)
            }
        case .speculate(let request):
            latest.withLock { $0[request.requestID] = max($0[request.requestID] ?? 0, request.round) }
            drafting.async { [self] in begin(request, on: connection) }
        case .accepted(let accepted):
            drafting.async { [self] in follow(accepted, on: connection) }
        case .cancel(let cancel):
            latest.withLock { $0[cancel.requestID] = nil }
            drafting.async { [self] in
                contexts[cancel.requestID] = nil
                rounds[cancel.requestID] = nil
                options.metrics.set(WorkerMetrics.requests, Double(contexts.count), labels: ["worker": options.nodeID])
            }
        case .error(let error):
            logger.warning("coordinator reported an error", metadata: ["code": "\(error.code)", "message": "\(error.message)"])
        default:
            logger.debug("ignoring message", metadata: ["kind": "\(message.kind)"])
        }
    }

    /// Whether a newer Speculate for this request has arrived since `round` was asked.
    private func isStale(_ requestID: UInt64, round: UInt64) -> Bool {
        latest.withLock { ($0[requestID] ?? 0) > round }
    }

    /// Starts a round's drafts from the context it names. Runs on `drafting`.
    private func begin(_ request: Speculate, on connection: Connection) {
        let id = request.requestID
        var context = contexts[id] ?? []
        let position = Int(request.contextPosition)
        guard context.count >= position else {
            connection.send(.error(ErrorMessage(code: .badRequest, message: "worker has \(context.count) context tokens, Speculate assumes \(position)", requestID: id)))
            contexts[id] = nil
            return
        }
        context = Array(context.prefix(position)) + request.contextTokens.map(Int.init)
        contexts[id] = context
        options.metrics.set(WorkerMetrics.requests, Double(contexts.count), labels: ["worker": options.nodeID])
        // Keep the context in step, but do not draft for a round the coordinator has moved past.
        guard (rounds[id]?.round ?? 0) < request.round, !isStale(id, round: request.round) else {
            options.metrics.add(WorkerMetrics.staleSkipped)
            return
        }
        let count = min(Int(request.numDrafts), request.streamIDs.count, Int(options.maxDrafts))
        rounds[id] = DraftRound(
            round: request.round, connection: connection, sampling: SamplingParameters(wire: request.sampling), maxSupport: Int(request.maxSupport),
            lookahead: min(Int(request.blockLength), Int(options.maxBlockLength)), base: context.count,
            drafts: request.streamIDs.prefix(count).map { Draft(choices: StreamChoices(RandomStream(seed: request.seed, stream: $0))) })
        options.metrics.add(WorkerMetrics.rounds)
        queueStep(id)
    }

    /// Advances a request's context by the tokens the coordinator accepted and stops the drafts
    /// that disagree with them; the others may now run further ahead. Runs on `drafting`.
    private func follow(_ accepted: Accepted, on connection: Connection) {
        let id = accepted.requestID
        guard var context = contexts[id], context.count + accepted.tokens.count == Int(accepted.newPosition) else {
            // Out of sync (a message was lost): say so, and the coordinator resends the context.
            contexts[id] = nil
            rounds[id] = nil
            connection.send(.error(ErrorMessage(code: .badRequest, message: "worker lost the context of request \(id); send it whole", requestID: id)))
            return
        }
        context += accepted.tokens.map(Int.init)
        contexts[id] = context
        guard var round = rounds[id] else { return }
        for j in round.drafts.indices where !DraftStream.agrees(round.drafts[j].tokens, base: round.base, with: context) {
            round.drafts[j].alive = false
        }
        rounds[id] = round
        queueStep(id)
    }

    private func queueStep(_ id: UInt64) {
        guard var round = rounds[id], !round.stepQueued else { return }
        round.stepQueued = true
        rounds[id] = round
        drafting.async { [self] in step(id) }
    }

    /// One lockstep token for every draft of the request that is alive, not ended and within its
    /// lookahead; each token is sent as soon as it is drawn. Queues the next step while a draft
    /// can still grow. Runs on `drafting`.
    private func step(_ id: UInt64) {
        guard var round = rounds[id], let context = contexts[id] else { return }
        round.stepQueued = false
        rounds[id] = round
        guard !isStale(id, round: round.round) else { return }
        let growing = round.drafts.indices.filter { j in
            let draft = round.drafts[j]
            let ended = draft.tokens.last.map { $0 == model.endOfSequence } ?? false
            return draft.alive && !ended && round.base + draft.tokens.count - context.count < round.lookahead
        }
        guard !growing.isEmpty else { return }
        let started = ContinuousClock.now
        var choices = growing.map { round.drafts[$0].choices }
        let prefix = Array(context.prefix(round.base))
        let drawn = drafter.step(after: growing.map { prefix + round.drafts[$0].tokens }, sampling: round.sampling, maxSupport: round.maxSupport, choices: &choices)
        options.metrics.observe(WorkerMetrics.draftSeconds, (ContinuousClock.now - started) / .seconds(1))
        options.metrics.add(WorkerMetrics.tokens, Double(growing.count))
        for (i, j) in growing.enumerated() {
            round.drafts[j].choices = choices[i]
            round.drafts[j].tokens.append(drawn[i].token)
            var block = DraftBlock()
            block.requestID = id
            block.round = round.round
            block.basePosition = UInt32(round.base + round.drafts[j].tokens.count - 1)
            block.draftIndex = UInt32(j)
            block.tokens = [UInt32(drawn[i].token)]
            block.distributions = [drawn[i].row]
            round.connection.send(.draftBlock(block))
            // A draft behind the accepted context learns only now whether it agrees with it.
            if !DraftStream.agrees(round.drafts[j].tokens, base: round.base, with: context) { round.drafts[j].alive = false }
        }
        rounds[id] = round
        queueStep(id)
    }
}
