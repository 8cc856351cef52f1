import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// The coordinator's state machine: handshakes, worker pools, requests, their rounds and the
/// target passes (split by concern: this file holds the state and the connections; `+Requests`,
/// `+Rounds` and `+Passes` the rest).
///
/// A request's round assigns K drafts to workers of one pool (same draft-model fingerprint) with
/// one `Speculate`; the drafts stream in a token at a time. Whenever the target is free it scores,
/// in one batched pass, every request's newest token and the draft tokens that arrived after it;
/// the verifier's tokens go to the client and, as `Accepted`, to the workers, whose drafts go on
/// as long as they agree. Which drafts and tokens take part depends only on timing, never on
/// their content. All events arrive through one ordered stream (`CoordinatorEvent`).
actor CoordinatorCore {
    let target: ClusterModel
    let scorer: any TargetScorer
    let options: CoordinatorOptions
    let logger: Logger
    let events: AsyncStream<CoordinatorEvent>.Continuation

    enum Peer {
        /// Connected, no Hello yet; with a secret, the challenge its Hello must answer.
        case greeting(challenge: Challenge?)
        case worker(WorkerState)
        case client(ClientState)
    }

    struct ClientState {
        /// The client's requests in flight: its request id → the coordinator's.
        var requests: [UInt64: UInt64] = [:]
    }

    struct WorkerState {
        let connection: Connection
        let nodeID: String
        let fingerprint: String
        /// Announced drafting speed (tokens/s; 0 = unknown).
        let tokensPerSecond: Double
        /// Announced limit on drafts per round (0 = none).
        let maxDrafts: Int
        /// How many context tokens this worker holds, per request.
        var synced: [UInt64: Int] = [:]
        /// Drafts asked of this worker that have not delivered a token yet, per request: its
        /// queue, which the next assignment weighs (a worker busy with other requests' drafts, or
        /// stalled, gets fewer).
        var pending: [UInt64: Int] = [:]

        var queuedBlocks: Int { pending.values.reduce(0, +) }
        /// Tokens that failed the coordinator's checks (`violation`).
        var violations = 0
        /// Round deadlines missed without a token since the last delivery, and until when the
        /// worker is left out of rounds for them.
        var missedInARow = 0
        var benchedUntil = Date.distantPast

        /// A draft's first token arrived: the worker delivers again.
        mutating func delivered() { (missedInARow, benchedUntil) = (0, .distantPast) }

        /// A draft got nothing by the deadline: out of rounds for 2, 4, 8, … up to 64 seconds.
        mutating func missedDeadline() {
            missedInARow += 1
            benchedUntil = Date().addingTimeInterval(Double(1 << min(missedInARow, 6)))
        }
    }

    var peers: [UInt64: Peer] = [:]
    var requests: [UInt64: GenerationRequest] = [:]
    /// A target pass is running on `scoringQueue`.
    var scoring = false
    /// Where target passes run: off the actor, off the cooperative thread pool.
    let scoringQueue = DispatchQueue(label: "specula.coordinator.scoring")
    /// Chooses K and γ for requests that leave them open, one planner per verifier and
    /// temperature (`GenerationRequest.planningRegime`).
    var planners: [GenerationRequest.PlanningRegime: SpeculationPlanner] = [:]
    /// The target pass cost, for every planner.
    var passCost = PassCostLine()

    /// One request's part of a target pass: its tree of draft tokens (maybe empty: the newest
    /// context token alone) and the draft rows at the tree's internal nodes.
    struct PassStep: Sendable {
        let id: UInt64
        let round: UInt64
        let tree: DraftTree
        let draftRows: [SparseDistribution?]
        /// Draft index (in the round) of each tree draft.
        let draftIndices: [Int]
        /// How long the request waited for draft tokens before this pass.
        let waited: TimeInterval
        /// Tree drafts that already took part in an earlier pass of the round.
        let continued: Int
    }
    var nextRequestID: UInt64 = 1
    /// Draft-model pools ever seen (their gauge drops to 0 when they empty).
    var knownPools: Set<String> = []
    /// Node ids of workers an audit proved wrong: refused when they come back.
    var quarantinedNodes: Set<String> = []

    init(target: ClusterModel, options: CoordinatorOptions, logger: Logger, events: AsyncStream<CoordinatorEvent>.Continuation) {
        self.target = target
        self.scorer = target.makeScorer()
        self.options = options
        self.logger = logger
        self.events = events
        CoordinatorMetrics.declare(in: options.metrics)
    }

    var metrics: MetricsRegistry { options.metrics }

    /// Refreshes the worker gauge (per draft-model pool) after a worker joins or leaves.
    func updateWorkerGauge() {
        var pools: [String: Int] = [:]
        for case .worker(let w) in peers.values { pools[w.fingerprint, default: 0] += 1 }
        for (fingerprint, count) in pools { metrics.set(CoordinatorMetrics.workers, Double(count), labels: ["draft_model": fingerprint]) }
        for fingerprint in knownPools.subtracting(pools.keys) { metrics.set(CoordinatorMetrics.workers, 0, labels: ["draft_model": fingerprint]) }
        knownPools.formUnion(pools.keys)
    }

    func run(_ stream: AsyncStream<CoordinatorEvent>) async {
        for await event in stream {
            switch event {
            case .opened(let connection): opened(connection)
            case .message(let connection, let message): receive(message, from: connection)
            case .closed(let connection, let reason): closed(connection, reason)
            case .drained: schedule()
            case .waitDeadline(let request, let wait): waitDeadline(request, wait)
            case .scored(let batch): scored(batch)
            }
        }
    }

    // MARK: - Connections

    /// A new peer: with a secret, the coordinator speaks first, with a fresh challenge.
    func opened(_ connection: Connection) {
        let challenge = options.authSecret.map { _ in HelloAuthentication.freshChallenge() }
        peers[connection.id] = .greeting(challenge: challenge)
        if let challenge { connection.send(.challenge(challenge)) }
    }

    func receive(_ message: Message, from connection: Connection) {
        switch peers[connection.id] ?? .greeting(challenge: nil) {
        case .greeting(let challenge):
            greet(message, challenge: challenge, from: connection)
        case .worker:
            switch message {
            case .draftBlock(let block): draftArrived(block, from: connection)
            case .error(let error):
                logger.warning("worker error", metadata: ["worker": "\(connection.peer)", "request.id": "\(error.requestID)", "message": "\(error.message)"])
                if error.requestID != 0 { workerLostRequest(error.requestID, worker: connection) }
            default: logger.debug("ignoring worker message", metadata: ["kind": "\(message.kind)"])
            }
        case .client:
            switch message {
            case .generate(let generate): start(generate, from: connection)
            case .cancel(let cancel): self.cancel(cancel, from: connection)
            default: logger.debug("ignoring client message", metadata: ["kind": "\(message.kind)"])
            }
        }
    }

    func greet(_ message: Message, challenge: Challenge?, from connection: Connection) {
        guard case .hello(let hello) = message else {
            refuse(connection, code: .protocolViolation, "the first message must be Hello, got \(message.kind)")
            return
        }
        var ack = HelloAck()
        ack.nodeID = options.nodeID
        ack.modelFingerprint = target.fingerprint
        ack.tokenizerFingerprint = target.tokenizerFingerprint
        ack.vocabSize = UInt32(target.vocabularySize)
        ack.textPrompts = target.tokenizer != nil
        ack.heartbeatIntervalMs = UInt32(options.connection.heartbeatIntervalMs)
        func deny(_ code: WireErrorCode, _ reason: String) {
            ack.reason = reason
            connection.send(.helloAck(ack))
            refuse(connection, code: code, reason)
        }
        guard hello.protocolVersion == WireProtocol.version else {
            return deny(.incompatible, "protocol version \(hello.protocolVersion) is not supported (coordinator speaks \(WireProtocol.version))")
        }
        if let secret = options.authSecret {
            guard let challenge, HelloAuthentication.isAuthentic(hello, challenge: challenge.nonce, secret: secret) else {
                return deny(.unauthenticated, "authentication failed: Hello must carry the HMAC-SHA256, under the shared secret, of this connection's Challenge and its own fields")
            }
        }
        switch hello.role {
        case .worker:
            guard !quarantinedNodes.contains(hello.nodeID) else {
                return deny(.unauthenticated, "worker \(hello.nodeID) is quarantined: an audit found its drafts' rows wrong")
            }
            guard hello.tokenizerFingerprint == target.tokenizerFingerprint, Int(hello.vocabSize) == target.vocabularySize else {
                return deny(.incompatible, "tokenizer mismatch: worker has \(hello.tokenizerFingerprint) (\(hello.vocabSize) tokens), target has \(target.tokenizerFingerprint) (\(target.vocabularySize) tokens)")
            }
            let capabilities = hello.capabilities
            peers[connection.id] = .worker(WorkerState(connection: connection, nodeID: hello.nodeID, fingerprint: hello.modelFingerprint,
                                                       tokensPerSecond: capabilities?.draftTokensPerSecond ?? 0, maxDrafts: Int(capabilities?.maxDrafts ?? 0)))
            logger.info("worker joined", metadata: ["worker": "\(hello.nodeID)", "peer": "\(connection.peer)", "draft.fingerprint": "\(hello.modelFingerprint)"])
            updateWorkerGauge()
        case .client:
            peers[connection.id] = .client(ClientState())
        default:
            return deny(.protocolViolation, "role \(hello.role) cannot join a coordinator")
        }
        ack.accepted = true
        ack.reason = "welcome"
        connection.completeHandshake()
        connection.send(.helloAck(ack))
    }

    func refuse(_ connection: Connection, code: WireErrorCode, _ reason: String) {
        logger.warning("refusing peer", metadata: ["peer": "\(connection.peer)", "reason": "\(reason)"])
        connection.fail(ErrorMessage(code: code, message: reason), reason: .local(reason))
    }

    func closed(_ connection: Connection, _ reason: CloseReason) {
        let peer = peers.removeValue(forKey: connection.id)
        switch peer {
        case .worker(let worker):
            logger.info("worker left", metadata: ["worker": "\(worker.nodeID)", "reason": "\(reason)"])
            updateWorkerGauge()
            workerLeft(connection)
        case .client(let state):
            for id in state.requests.values { end(id, reason: .cancelled) }
        default:
            break
        }
    }

}
