import SpeculaCore
import SpeculaNet

/// Rounds: assigning a request's drafts to workers (one `Speculate`), collecting their tokens as
/// they stream in, checking each, and giving up on drafts whose worker left or lost the context.
extension SpeculationCore {
    /// The random stream of a round's draft: unique per round and draft index within a request.
    package static func streamID(round: UInt64, draft: Int) -> UInt64 { round << 20 | UInt64(draft) }

    /// While drafts do not pay for a request, one round in this many drafts anyway.
    static let probeRounds: UInt64 = 16

    /// How far past the accepted context a request's workers may draft: a pass scores up to γ
    /// draft tokens, and workers that draft while the target scores are already drafting the γ
    /// after them meanwhile.
    package func lookahead(blockLength: Int) -> Int { (options.draftsWhileScoring ? 2 : 1) * blockLength + 1 }

    /// How far past the accepted context a model-free draft may run, whatever γ the request's
    /// model drafts have: as far as any block may (the worker caps it at its own `max`). Its
    /// tokens cost nothing to make, and a pass takes them as deep as they pay (`BatchPlanner`):
    /// a copied passage is accepted in long runs.
    var modelFreeLookahead: Int { options.limits.maxBlockLength }

    /// How far past the accepted context `worker`'s drafts of the request may run.
    func lookahead(of worker: WorkerRegistry.WorkerState, for request: GenerationRequest) -> Int {
        worker.modelFree ? modelFreeLookahead : lookahead(blockLength: request.blockLength)
    }

    /// Starts a new round for the request: chooses its pools (`roundPools`), K and γ (when the
    /// request leaves them open), assigns the drafts to workers and asks them to draft from the
    /// current context. The first pool gets the K drafts; every other pool that pays gets one.
    /// A request without drafts, or without workers, gets no streams (the target decodes alone).
    mutating func beginRound(_ id: UInt64, at now: ContinuousClock.Instant) {
        guard var request = requests[id] else { return }
        let pools = roundPools(for: request, at: now)
        let primary = pools.first?.workers ?? []
        let states = primary.map { workers[$0]! }
        workers.forgetPending(id)
        request.round += 1
        let previous = primary.firstIndex { request.assignment[$0] != nil }
        (request.assignment, request.streams, request.audit) = ([:], [:], nil)
        if request.adaptive { (request.drafts, request.blockLength) = plan(request, pool: states) }
        // Every `probeRounds`-th round drafts anyway, so that the wait for drafts is measured
        // again and drafts come back once they pay.
        if request.adaptive, !request.draftsPay, request.round % Self.probeRounds != 0 { request.drafts = 0 }
        // No more drafts than the pool keeps ahead of the target; none where plain batching
        // measured faster at this load.
        if request.adaptive {
            request.drafts = min(request.drafts, draftSupply.available(drafting: draftsRunning(besides: id)))
            if draftingPayoff.mode(running: admission.running.count) == .plain { request.drafts = 0 }
        }
        request.roundPools = request.drafts > 0 ? pools.map(\.fingerprint) : []
        for (k, pool) in pools.enumerated() where request.drafts > 0 {
            let states = pool.workers.map { workers[$0]! }
            let assignment = DraftAssignment.assign(drafts: k == 0 ? request.drafts : 1, speeds: states.map(\.tokensPerSecond),
                                                    queued: states.map(\.queuedDrafts), limits: states.map(\.maxDrafts),
                                                    previous: k == 0 ? previous : nil)
            for w in assignment {
                let index = request.streams.count
                request.assignment[pool.workers[w], default: []].append(index)
                request.streams[index] = DraftStream(worker: pool.workers[w], pool: k, renews: states[w].modelFree, base: request.context.count,
                                                     lookahead: lookahead(of: states[w], for: request),
                                                     stream: RandomStream(seed: request.seed, stream: Self.streamID(round: request.round, draft: index)))
            }
        }
        requests.update(id) { $0 = request }
        for (worker, indices) in request.assignment.sorted(by: { $0.key < $1.key }) {
            speculate(request, drafts: indices, to: worker, from: request.context.count)
            // Drafts not started yet: the worker's queue, which the next assignment weighs.
            workers.update(worker) { $0.pending[id] = indices.count }
        }
        if !request.streams.isEmpty { startAudit(id, pool: primary) }
    }

    /// The pools a round of the request draws from, best first in its regime (`PoolAcceptance`): all that pay
    /// when its verifier takes drafts of several laws (the others only on probe rounds), else the
    /// best alone.
    func roundPools(for request: GenerationRequest, at now: ContinuousClock.Instant) -> [(fingerprint: String, workers: [UInt64])] {
        let regime = request.poolRegime
        let ordered = poolAcceptance.ordered(workers.pools(at: now), in: regime)
        guard request.mixesPools || options.poolsDraftsAsOneLaw, let first = ordered.first else { return Array(ordered.prefix(1)) }
        let probing = (request.round + 1) % Self.probeRounds == 0
        return [first] + ordered.dropFirst().filter { probing || poolAcceptance.pays($0.fingerprint, in: regime) }
    }

    /// Drafts in progress of the running requests other than `id`.
    func draftsRunning(besides id: UInt64) -> Int {
        requests.ids.reduce(0) { $0 + ($1 != id && requests[$1]!.admitted ? requests[$1]!.liveStreams.count : 0) }
    }

    /// The planner of the request's regime at the current load. A load level not planned for yet
    /// starts from the nearest level that was (its acceptance by position holds at any load; the
    /// waits and rates it measured are then relearnt at this one).
    func planner(for request: GenerationRequest) -> SpeculationPlanner { regimePlanner(for: request).planner }

    /// The request's regime at the current load, with its planner (as `planner(for:)`): what a
    /// pass's lessons are stored under.
    func regimePlanner(for request: GenerationRequest) -> (regime: GenerationRequest.PlanningRegime, planner: SpeculationPlanner) {
        let regime = request.planningRegime(running: admission.running.count)
        if let planner = planners[regime] { return (regime, planner) }
        let nearest = planners.keys
            .filter { $0.verifier == regime.verifier && $0.temperatureTenths == regime.temperatureTenths }
            .min { abs($0.loadLevel - regime.loadLevel) < abs($1.loadLevel - regime.loadLevel) }
        return (regime, nearest.flatMap { planners[$0] } ?? SpeculationPlanner())
    }

    /// K and γ for a request that leaves them open: the planner's choice for its regime, given
    /// the pass cost and the pool's announced speed (greedy drafts are all one draft: K = 1).
    func plan(_ request: GenerationRequest, pool: [WorkerRegistry.WorkerState]) -> (drafts: Int, block: Int) {
        let speeds = pool.map(\.tokensPerSecond).filter { $0 > 0 }
        let announced = speeds.isEmpty ? 0 : speeds.map { 1e6 / $0 }.reduce(0, +) / Double(speeds.count)
        let maxDrafts = request.sampling.isGreedy ? 1 : min(4, options.limits.maxDrafts)
        let choice = planner(for: request)
            .choose(maxDrafts: maxDrafts, maxBlock: min(8, options.limits.maxBlockLength), passCost: passCost.line, announcedMicrosPerToken: announced)
        return (choice.drafts, choice.block)
    }

    /// Asks a worker to draft the round's drafts at `indices` from the context up to `base` (the
    /// round's start; earlier for an audit's tiebreaker), sending it the context it lacks.
    mutating func speculate(_ request: GenerationRequest, drafts indices: [Int], to worker: UInt64, from base: Int) {
        guard let state = workers[worker] else { return }
        let synced = min(state.synced[request.id] ?? 0, base)
        var speculate = Speculate()
        speculate.requestID = request.id
        speculate.round = request.round
        speculate.contextPosition = UInt32(synced)
        speculate.contextTokens = request.context[synced..<base].map { UInt32($0) }
        speculate.numDrafts = UInt32(indices.count)
        speculate.lookahead = UInt32(lookahead(of: state, for: request))
        speculate.sampling = request.sampling.wire
        speculate.streamIDs = indices.map { Self.streamID(round: request.round, draft: $0) }
        speculate.seed = request.seed
        speculate.maxSupport = options.maxSupport
        send(.speculate(speculate), to: worker)
        workers.update(worker) { $0.synced[request.id] = base }
    }

    /// A worker's next tokens of one of its drafts: checked (within the lookahead asked for, and
    /// each the token the draft's stream draws from its shipped row) and appended. A block that
    /// fails a check ends the draft and counts against the worker (`violation`); a gap (a block
    /// dropped on an overfull connection) only ends the draft. Late or unasked-for blocks are
    /// ignored.
    mutating func draftArrived(_ block: DraftToken, from worker: UInt64, at now: ContinuousClock.Instant) {
        let id = block.requestID
        guard let request = requests[id], block.round == request.round else { return }
        if request.audit?.isDrafter(worker) == true, request.assignment[worker] == nil {
            // An auditor's copy: compared, never verified (an ended one has nothing to compare).
            return block.tokens.isEmpty ? () : audited(block, from: worker, in: id, at: now)
        }
        guard let indices = request.assignment[worker], Int(block.draftIndex) < indices.count else { return }
        let index = indices[Int(block.draftIndex)]
        let before = request.streams[index]!.received
        let (parsed, trusting) = (block.ended && block.tokens.isEmpty ? nil : parse(block), options.trustsWorkers)
        let fault = requests.update(id) { request in
            request.streams[index]!.receive(block, parsed: parsed, context: request.context, trusting: trusting)
        } ?? nil
        if let fault {
            if case .pastLookahead(let past) = fault { metrics.add(CoordinatorMetrics.draftTokensPastLookahead, Double(past)) }
            return violation(by: worker, fault.description, request: id)
        }
        let received = requests[id]!.streams[index]!.received
        if before == 0, received > 0 || block.ended {
            workers.update(worker) { state in
                state.delivered()
                if let queued = state.pending[id] { state.pending[id] = queued > 1 ? queued - 1 : nil }
            }
        }
        if requests[id]!.audit?.draft == index, received > before { audited(block, from: worker, in: id, at: now) }
    }

    /// A delivered chunk of a draft as tokens and the rows they were drawn from, or nil when it is
    /// malformed (no tokens, too many, a token outside its own row's support, an invalid row).
    func parse(_ block: DraftToken) -> (tokens: [Token], rows: [SparseDistribution])? {
        guard !block.tokens.isEmpty, block.tokens.count <= options.limits.maxBlockLength, block.distributions.count == block.tokens.count else { return nil }
        var rows: [SparseDistribution] = []
        for (token, wire) in zip(block.tokens, block.distributions) {
            guard let row = SparseShipping.distribution(wire, vocabularySize: target.vocabularySize), row.probability(of: Int(token)) > 0 else { return nil }
            rows.append(row)
        }
        return (block.tokens.map(Int.init), rows)
    }

    /// A worker sent what no correct worker sends: counted, the worker told; past
    /// `maxWorkerViolations` it is disconnected (its drafts of every request stop).
    mutating func violation(by worker: UInt64, _ what: String, request id: UInt64) {
        workers.update(worker) { $0.violations += 1 }
        guard let state = workers[worker] else { return }
        metrics.add(CoordinatorMetrics.workerViolations)
        logger.warning("worker sent \(what)", metadata: ["worker": "\(state.nodeID)", "peer": "\(worker)", "request.id": "\(id)", "violations": "\(state.violations)"])
        let message = "\(what) (request \(id)); violation \(state.violations) of \(options.maxWorkerViolations) allowed"
        if state.violations >= options.maxWorkerViolations {
            refuse(worker, code: .protocolViolation, message)
        } else {
            send(.error(ErrorMessage(code: .protocolViolation, message: message)), to: worker)
        }
    }

    /// Ends a worker's drafts of a request's current round and drops them from its assignment.
    mutating func stopDrafts(of worker: UInt64, in id: UInt64) {
        requests.update(id) { request in
            for index in request.assignment.removeValue(forKey: worker) ?? [] { request.streams[index]?.stop() }
        }
    }

    /// A worker reported an error about a request: it holds no usable context for it (a message
    /// it needed was dropped on an overfull connection, say). Its drafts of the request stop, and
    /// its next `Speculate` for it carries the whole context.
    mutating func workerLostRequest(_ id: UInt64, worker: UInt64) {
        workers.update(worker) { ($0.synced[id], $0.pending[id]) = (nil, nil) }
        stopDrafts(of: worker, in: id)
    }
}
