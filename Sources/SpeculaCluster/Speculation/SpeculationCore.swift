package import Logging
package import SpeculaCore
package import SpeculaNet

/// The coordinator's logic as a pure state machine: handshakes, worker pools, requests, their
/// rounds of drafts and the target passes. Each input event has one entry point, which returns
/// the actions its shell carries out (`SpeculationAction`): send this message to that peer, run
/// this pass, arm this deadline. No I/O, no threads, no clock: peers are ids and time comes in
/// with each event, so tests drive the real logic through any order of events they script. Its
/// shells are `CoordinatorRuntime` (the network) and `LocalGenerator` (in-process drafters).
/// Metrics and logs are written as they happen (sinks, not actions).
///
/// A request's round assigns K drafts to workers of one pool (same draft-model fingerprint) with
/// one `Speculate`; the drafts stream in a token at a time. Whenever the target is free
/// (`schedule`) one batched pass scores every request's newest token and the draft tokens that
/// arrived after it; the verifier's tokens go to the client and, as `Accepted`, to the workers,
/// whose drafts go on as long as they agree. Which drafts and tokens take part depends only on
/// what has arrived, never on their content (the drafts' own end of sequence aside: see
/// `SpeculationCore+Passes`).
///
/// State has three owners: `workers` (the registry and pools), `requests` (the request table)
/// and the pass scheduler's fields below; the extensions hold the logic by concern — handshake,
/// requests, rounds, audits, passes, verification.
package struct SpeculationCore {
    let target: ClusterModel
    let options: CoordinatorOptions
    let logger: Logger
    var workers = WorkerRegistry()
    var requests = RequestTable()
    /// Which requests run and which wait for room.
    var admission: AdmissionControl
    /// Peers connected but not through their Hello yet, with the challenge it must answer.
    var greeting: [UInt64: Challenge?] = [:]

    /// A target pass is running.
    var scoring = false
    /// Chooses K and γ for requests that leave them open, one planner per verifier, temperature
    /// and load level (`GenerationRequest.planningRegime`).
    var planners: [GenerationRequest.PlanningRegime: SpeculationPlanner] = [:]
    /// The target pass cost, for every planner and the batch's depths.
    var passCost: PassCostLine
    /// How many requests the pool's drafts keep ahead of the target; adaptive requests past it
    /// decode plainly.
    var draftSupply = DraftSupply()
    /// Whether drafting measured faster than plain batching at the current load.
    var draftingPayoff: DraftingPayoff
    /// How much of the accepted text each pool's drafts cover: orders and picks a round's pools.
    var poolAcceptance = PoolAcceptance()

    /// Whether to audit a round (the coordinator's own coin: `auditFraction`) and whom to ask.
    var auditChoices: RandomStream
    /// A request's verifier randomness, from its seed.
    let makeChoices: (UInt64) -> any RandomChoices
    /// Actions of the event being handled, in order.
    var outbox: [SpeculationAction] = []

    /// `auditSeed` seeds the coordinator's own randomness (audits); `makeChoices` gives each
    /// request its verifier randomness from its seed (exact tests script it).
    package init(target: ClusterModel, options: CoordinatorOptions, logger: Logger, auditSeed: UInt64 = .random(in: .min ... .max),
                 makeChoices: @escaping (UInt64) -> any RandomChoices = { StreamChoices(RandomStream(seed: $0, stream: .max)) }) {
        self.target = target
        self.options = options
        self.logger = logger
        self.auditChoices = RandomStream(seed: auditSeed)
        self.makeChoices = makeChoices
        passCost = options.initialPassCost
        draftingPayoff = options.draftingPayoff
        admission = AdmissionControl(limits: options.admission, bytesPerPosition: target.kvBytesPerPosition, pagePositions: target.kvPagePositions)
        CoordinatorMetrics.declare(in: options.metrics)
        options.metrics.set(CoordinatorMetrics.draftingOn, 1)
        options.metrics.set(CoordinatorMetrics.kvCacheBudgetBytes, Double(options.admission.kvCacheBytes ?? 0))
    }

    var metrics: MetricsRegistry { options.metrics }

    // MARK: - Events

    /// A peer connected; `challenge` (drawn by the shell, with a secret) is sent to it at once.
    package mutating func opened(_ peer: UInt64, challenge: Challenge?) -> [SpeculationAction] {
        greeting[peer] = challenge
        if let challenge { outbox.append(.send(.challenge(challenge), to: peer)) }
        return flush()
    }

    /// A client inside the coordinator's process (the HTTP API's): trusted by its shell, which
    /// authenticated the caller, it skips the handshake.
    package mutating func attachedClient(_ peer: UInt64) -> [SpeculationAction] {
        requests.addClient(peer)
        return flush()
    }

    /// A message from a peer.
    package mutating func received(_ message: Message, from peer: UInt64, at now: ContinuousClock.Instant) -> [SpeculationAction] {
        if let challenge = greeting.removeValue(forKey: peer) {
            greet(message, challenge: challenge, from: peer)
        } else if workers[peer] != nil {
            switch message {
            case .draftToken(let block): draftArrived(block, from: peer, at: now)
            case .error(let error):
                logger.warning("worker error", metadata: ["worker": "\(peer)", "request.id": "\(error.requestID)", "message": "\(error.message)"])
                if error.requestID != 0 { workerLostRequest(error.requestID, worker: peer) }
            default: logger.debug("ignoring worker message", metadata: ["kind": "\(message.kind)"])
            }
        } else if requests.isClient(peer) {
            switch message {
            case .generate(let generate): start(generate, from: peer, at: now)
            case .cancel(let cancel): self.cancel(cancel, from: peer, at: now)
            default: logger.debug("ignoring client message", metadata: ["kind": "\(message.kind)"])
            }
        }
        return flush()
    }

    /// A peer's connection closed.
    package mutating func closed(_ peer: UInt64, reason: CloseReason) -> [SpeculationAction] {
        greeting[peer] = nil
        if let worker = workers.leave(peer, metrics: metrics) {
            logger.info("worker left", metadata: ["worker": "\(worker.nodeID)", "reason": "\(reason)"])
            for id in requests.ids { stopDrafts(of: peer, in: id) }
        }
        for id in requests.removeClient(peer) { end(id, reason: .cancelled) }
        return flush()
    }

    /// A wait armed by `.armDeadline` is over: the drafts that have not delivered are given up.
    package mutating func waitDeadline(request id: UInt64, wait: UInt64, at now: ContinuousClock.Instant) -> [SpeculationAction] {
        requests.update(id) { request in
            if request.waits == wait, request.waitingSince != nil { request.waitedPastDeadline = true }
        }
        return flush()
    }

    /// Starts a target pass over every request that is ready, unless one is running; `paused`
    /// clients (their connection is backed up) are left out until they drain. The shell calls
    /// it after every event.
    package mutating func schedule(at now: ContinuousClock.Instant, paused: Set<UInt64> = []) -> [SpeculationAction] {
        if !scoring { startPass(at: now, paused: paused) }
        return flush()
    }

    /// The running pass finished with these rows (per step, per tree node), after `duration`.
    package mutating func passFinished(_ pass: TargetPass, rows: [[DenseDistribution]], duration: Duration,
                                       at now: ContinuousClock.Instant) -> [SpeculationAction] {
        finish(pass, rows: rows, duration: duration, at: now)
        return flush()
    }

    /// Whether no request is in flight (a local shell's loop ends).
    package var isIdle: Bool { requests.count == 0 }

    private mutating func flush() -> [SpeculationAction] {
        defer { outbox = [] }
        return outbox
    }

    /// Sends the error to a peer and closes its connection.
    mutating func refuse(_ peer: UInt64, code: WireErrorCode, _ reason: String) {
        logger.warning("refusing peer", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
        outbox.append(.disconnect(peer, ErrorMessage(code: code, message: reason)))
    }

    mutating func send(_ message: Message, to peer: UInt64) { outbox.append(.send(message, to: peer)) }
}
