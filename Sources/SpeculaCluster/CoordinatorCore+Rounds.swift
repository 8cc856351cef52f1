import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Rounds: assigning a request's drafts to workers (one `Speculate`), collecting their tokens as
/// they stream in, and giving up on drafts whose worker left or missed the round deadline.
extension CoordinatorCore {
    /// The workers of the largest pool (one draft-model fingerprint), counting only workers not
    /// benched for missing deadlines: a pool that does not deliver loses its rounds to one that
    /// does, whatever its size or announced fingerprint.
    func pool() -> [WorkerState] {
        let now = Date()
        var pools: [String: [WorkerState]] = [:]
        for case .worker(let w) in peers.values where w.benchedUntil <= now { pools[w.fingerprint, default: []].append(w) }
        return pools.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }?.value
            .sorted { $0.connection.id < $1.connection.id } ?? []
    }

    /// The random stream of a round's draft: unique per round and draft index within a request.
    static func streamID(round: UInt64, draft: Int) -> UInt64 { round << 20 | UInt64(draft) }

    /// How far past the accepted context a request's workers may draft: a pass scores up to γ
    /// draft tokens, and the workers should already be drafting the γ after them meanwhile.
    static func lookahead(blockLength: Int) -> Int { 2 * blockLength + 1 }

    /// Starts a new round for the request: chooses K and γ (when the request leaves them open),
    /// assigns the drafts to workers of one pool and asks them to draft from the current context.
    /// A request without drafts, or without workers, gets no streams (the target decodes alone).
    func beginRound(_ request: inout GenerationRequest) {
        let id = request.id
        request.round += 1
        let workers = pool()
        let previous = workers.firstIndex { request.assignment[$0.connection.id] != nil }
        request.assignment = [:]
        request.streams = [:]
        forgetPending(id)
        if request.adaptive {
            let speeds = workers.map(\.tokensPerSecond).filter { $0 > 0 }
            let announced = speeds.isEmpty ? 0 : speeds.map { 1e6 / $0 }.reduce(0, +) / Double(speeds.count)
            // Greedy drafts are all the same draft: more than one buys nothing.
            let maxDrafts = request.sampling.isGreedy ? 1 : min(4, options.limits.maxDrafts)
            let choice = planners[request.planningRegime, default: SpeculationPlanner()]
                .choose(maxDrafts: maxDrafts, maxBlock: min(8, options.limits.maxBlockLength), passCost: passCost.line, announcedMicrosPerToken: announced)
            (request.drafts, request.blockLength) = (choice.drafts, choice.block)
        }
        guard request.drafts > 0, !workers.isEmpty else { return }
        let assignment = DraftAssignment.assign(drafts: request.drafts, speeds: workers.map(\.tokensPerSecond), queued: workers.map(\.queuedBlocks),
                                                limits: workers.map(\.maxDrafts), previous: previous)
        for (index, w) in assignment.enumerated() {
            request.assignment[workers[w].connection.id, default: []].append(index)
            request.streams[index] = DraftStream(worker: workers[w].connection.id, base: request.context.count,
                                                 lookahead: Self.lookahead(blockLength: request.blockLength),
                                                 stream: RandomStream(seed: request.seed, stream: Self.streamID(round: request.round, draft: index)))
        }
        for worker in workers {
            guard let indices = request.assignment[worker.connection.id] else { continue }
            speculate(request, drafts: indices, to: worker.connection.id, from: request.context.count)
            if case .worker(var state) = peers[worker.connection.id] {
                // Drafts not started yet: the worker's queue, which the next assignment weighs.
                state.pending[id] = indices.count
                peers[worker.connection.id] = .worker(state)
            }
        }
        startAudit(&request, pool: workers)
    }

    /// Asks a worker to draft the round's drafts at `indices` from the context up to `base` (the
    /// round's start; earlier for an audit's tiebreaker), sending it the context it lacks.
    func speculate(_ request: GenerationRequest, drafts indices: [Int], to worker: UInt64, from base: Int) {
        guard case .worker(var state) = peers[worker] else { return }
        let synced = min(state.synced[request.id] ?? 0, base)
        var speculate = Speculate()
        speculate.requestID = request.id
        speculate.round = request.round
        speculate.contextPosition = UInt32(synced)
        speculate.contextTokens = request.context[synced..<base].map { UInt32($0) }
        speculate.numDrafts = UInt32(indices.count)
        speculate.blockLength = UInt32(Self.lookahead(blockLength: request.blockLength))
        speculate.sampling = request.sampling.wire
        speculate.streamIDs = indices.map { Self.streamID(round: request.round, draft: $0) }
        speculate.seed = request.seed
        speculate.maxSupport = options.maxSupport
        state.connection.send(.speculate(speculate))
        state.synced[request.id] = base
        peers[worker] = .worker(state)
    }

    /// A worker's next tokens of one of its drafts: checked (within the lookahead asked for, and
    /// each the token the draft's stream draws from its shipped row) and appended, then the target
    /// gets to work if it was waiting. A block that fails a check ends the draft and counts against
    /// the worker (`violation`); a gap (a block dropped on an overfull connection) only ends the
    /// draft.
    func draftArrived(_ block: DraftBlock, from worker: Connection) {
        if var request = requests[block.requestID], block.round == request.round, request.audit?.isDrafter(worker.id) == true,
           request.assignment[worker.id] == nil {
            // An auditor's copy of a draft: compared, never verified.
            audited(block, from: worker.id, in: &request)
            requests[block.requestID] = request
            return
        }
        guard var request = requests[block.requestID], block.round == request.round,
              let indices = request.assignment[worker.id], Int(block.draftIndex) < indices.count,
              var stream = request.streams[indices[Int(block.draftIndex)]]
        else { return }  // late or unasked-for: ignore
        let index = indices[Int(block.draftIndex)]
        // The worker's context is never ahead of this one, so no correct worker drafts past here;
        // checked before anything else, whether the draft is still alive or not.
        let past = Int(block.basePosition) + block.tokens.count - (request.context.count + stream.lookahead)
        if past > 0 {
            metrics.add(CoordinatorMetrics.draftTokensPastLookahead, Double(min(past, block.tokens.count)))
            stream.stop()
            request.streams[index] = stream
            requests[block.requestID] = request
            return violation(by: worker, "draft tokens past the lookahead of \(stream.lookahead) it was asked for", request: block.requestID)
        }
        guard stream.alive else { return }
        if stream.tokens.isEmpty, case .worker(var state) = peers[worker.id] {
            state.delivered()
            if let queued = state.pending[block.requestID] { state.pending[block.requestID] = queued > 1 ? queued - 1 : nil }
            peers[worker.id] = .worker(state)
        }
        var fault: String?
        if Int(block.basePosition) != stream.nextPosition {
            logger.debug("dropping a draft: out-of-order tokens", metadata: ["request.id": "\(block.requestID)", "draft": "\(index)"])
            stream.stop()
        } else if let parsed = parse(block) {
            for (token, row) in zip(parsed.tokens, parsed.rows) {
                guard options.trustsWorkers || stream.redraws(token, from: row) else {
                    fault = "a draft token that its row and random stream do not produce"
                    break
                }
                stream.append(token, row: row, context: request.context)
            }
            if fault == nil, request.audit?.draft == index { audited(block, from: worker.id, in: &request) }
        } else {
            fault = "a malformed draft block (no tokens, too many, an invalid row, or a token outside its row)"
        }
        if fault != nil { stream.stop() }
        request.streams[index] = stream
        requests[block.requestID] = request
        if let fault { violation(by: worker, fault, request: block.requestID) }
        schedule()
    }

    /// An audit may start with a round: with probability `auditFraction` (drawn by the coordinator,
    /// whatever the drafts hold), draft 0 is also asked of a random other worker of the pool.
    func startAudit(_ request: inout GenerationRequest, pool workers: [WorkerState]) {
        request.audit = nil
        guard options.auditFraction > 0, Double.random(in: 0..<1) < options.auditFraction, let worker = request.streams[0]?.worker,
              let auditor = workers.filter({ request.assignment[$0.connection.id] == nil }).randomElement()
        else { return }
        let base = request.context.count
        request.audit = DraftAudit(draft: 0, base: base, lookahead: Self.lookahead(blockLength: request.blockLength),
                                   worker: worker, auditor: auditor.connection.id)
        speculate(request, drafts: [0], to: auditor.connection.id, from: base)
        metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "started"])
    }

    /// A drafter's tokens of the audited draft: compared with the others'; a dispute brings in a
    /// tiebreaker (a third worker of the pool, drafting from the round's start), whose vote
    /// quarantines the worker it outvotes.
    func audited(_ block: DraftBlock, from drafter: UInt64, in request: inout GenerationRequest) {
        guard var audit = request.audit else { return }
        let finding = audit.record(drafter, from: Int(block.basePosition), tokens: block.tokens, rows: block.distributions)
        request.audit = audit
        switch finding {
        case .pending, .agreeing:
            return
        case .disputed:
            metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "disputed"])
            let pool = self.pool().filter { !audit.isDrafter($0.connection.id) && request.assignment[$0.connection.id] == nil }
            guard let tiebreaker = pool.randomElement() else {
                logger.warning("an audit found two workers' rows different, and no third worker can break the tie",
                               metadata: ["request.id": "\(request.id)", "workers": "\(audit.drafters)"])
                metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "inconclusive"])
                request.audit = nil
                return
            }
            request.audit?.addTiebreaker(tiebreaker.connection.id)
            speculate(request, drafts: [audit.draft], to: tiebreaker.connection.id, from: audit.base)
        case .outvoted(let liar):
            metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "outvoted"])
            request.audit = nil
            quarantine(liar, why: "its draft rows differ from two other workers' of its pool for the same draft (request \(request.id))")
        case .inconclusive:
            metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "inconclusive"])
            logger.warning("an audit's three workers shipped three different rows", metadata: ["request.id": "\(request.id)"])
            request.audit = nil
        }
    }

    /// Disconnects a worker that an audit proved wrong and refuses its node id from then on.
    func quarantine(_ worker: UInt64, why: String) {
        // Once: other audits may outvote it again before its connection has closed.
        guard case .worker(let state) = peers[worker], quarantinedNodes.insert(state.nodeID).inserted else { return }
        metrics.add(CoordinatorMetrics.workersQuarantined)
        logger.error("quarantining worker", metadata: ["worker": "\(state.nodeID)", "peer": "\(state.connection.peer)", "reason": "\(why)"])
        refuse(state.connection, code: .protocolViolation, "quarantined: \(why)")
    }

    /// A worker sent what no correct worker sends: counted, the worker told; past
    /// `maxWorkerViolations` it is disconnected (its drafts of every request stop).
    func violation(by connection: Connection, _ what: String, request id: UInt64) {
        guard case .worker(var state) = peers[connection.id] else { return }
        state.violations += 1
        peers[connection.id] = .worker(state)
        metrics.add(CoordinatorMetrics.workerViolations)
        logger.warning("worker sent \(what)", metadata: ["worker": "\(state.nodeID)", "peer": "\(connection.peer)", "request.id": "\(id)",
                                                         "violations": "\(state.violations)"])
        let message = "\(what) (request \(id)); violation \(state.violations) of \(options.maxWorkerViolations) allowed"
        if state.violations >= options.maxWorkerViolations {
            refuse(connection, code: .protocolViolation, message)
        } else {
            connection.send(.error(ErrorMessage(code: .protocolViolation, message: message)))
        }
    }

    /// A delivered chunk of a draft as tokens and the rows they were drawn from, or nil when it is
    /// malformed (no tokens, too many, a token outside its own row's support, an invalid row).
    func parse(_ block: DraftBlock) -> (tokens: [Token], rows: [SparseDistribution])? {
        guard !block.tokens.isEmpty, block.tokens.count <= options.limits.maxBlockLength, block.distributions.count == block.tokens.count else { return nil }
        var rows: [SparseDistribution] = []
        for (token, wire) in zip(block.tokens, block.distributions) {
            guard let row = SparseShipping.distribution(wire, vocabularySize: target.vocabularySize), row.probability(of: Int(token)) > 0 else { return nil }
            rows.append(row)
        }
        return (block.tokens.map(Int.init), rows)
    }

    /// A worker left: its drafts take no further part.
    func workerLeft(_ connection: Connection) {
        for id in Array(requests.keys) { stopDrafts(of: connection, in: id) }
        schedule()
    }

    /// Ends a worker's drafts of a request's current round and drops them from its assignment.
    private func stopDrafts(of connection: Connection, in id: UInt64) {
        guard let indices = requests[id]?.assignment.removeValue(forKey: connection.id) else { return }
        for index in indices { requests[id]?.streams[index]?.stop() }
    }

    /// A worker reported an error about a request: it holds no usable context for it (a message
    /// it needed was dropped on an overfull connection, say). Its drafts of the request stop, and
    /// its next `Speculate` for it carries the whole context.
    func workerLostRequest(_ id: UInt64, worker connection: Connection) {
        if case .worker(var state) = peers[connection.id] {
            state.synced[id] = nil
            state.pending[id] = nil
            peers[connection.id] = .worker(state)
        }
        stopDrafts(of: connection, in: id)
        schedule()
    }

    /// Drops a finished request's queued drafts from every worker's load.
    func forgetPending(_ id: UInt64) {
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.pending.removeValue(forKey: id) != nil else { continue }
            peers[connectionID] = .worker(worker)
        }
    }

    /// The request now waits for its drafts' next tokens; the round deadline bounds the wait.
    func startWaiting(_ request: inout GenerationRequest) {
        guard request.waitingSince == nil else { return }
        request.waitingSince = Date()
        request.waits += 1
        let (id, wait, events, deadline) = (request.id, request.waits, self.events, options.roundDeadlineMs)
        Task {
            try? await Task.sleep(for: .milliseconds(deadline))
            events.yield(.waitDeadline(request: id, wait: wait))
        }
    }

    /// Whether the request must wait for the drafts at `lagging` (draft indices): it starts (or
    /// goes on) waiting, unless the wait passed the round deadline — then those drafts end and it
    /// goes on without them.
    func waits(for lagging: [Int], _ request: inout GenerationRequest) -> Bool {
        guard !lagging.isEmpty else { return false }
        guard request.waitedPastDeadline else {
            startWaiting(&request)
            requests[request.id] = request
            return true
        }
        for index in lagging {
            request.streams[index]!.stop()
            if request.streams[index]!.tokens.isEmpty { missedDeadline(request.streams[index]!.worker) }
        }
        return false
    }

    /// A worker delivered nothing of a draft by the round deadline: it sits out rounds for a while
    /// (longer each time in a row), so that a silent or stalled pool stops taking them.
    func missedDeadline(_ worker: UInt64) {
        guard case .worker(var state) = peers[worker] else { return }
        state.missedDeadline()
        peers[worker] = .worker(state)
        logger.warning("worker missed a round deadline", metadata: ["worker": "\(state.nodeID)", "missed": "\(state.missedInARow)"])
    }

    /// The wait is over; returns how long it was.
    func stopWaiting(_ request: inout GenerationRequest) -> TimeInterval {
        defer { (request.waitingSince, request.waitedPastDeadline) = (nil, false) }
        return request.waitingSince.map { Date().timeIntervalSince($0) } ?? 0
    }

    /// A wait reached the round deadline: the drafts that have not delivered are given up.
    func waitDeadline(_ id: UInt64, _ wait: UInt64) {
        guard requests[id]?.waits == wait, requests[id]?.waitingSince != nil else { return }
        requests[id]?.waitedPastDeadline = true
        schedule()
    }
}
