import SpeculaCore
import SpeculaNet

/// Audits: a share of rounds has its first draft drawn again by another worker of the pool, and
/// the rows compared (`DraftAudit`); a dispute brings in a third, whose vote quarantines the
/// worker it outvotes. Auditors' tokens never reach the verifier.
extension SpeculationCore {
    /// With probability `auditFraction` (the coordinator's own coin, whatever the drafts hold),
    /// draft 0 of the request's new round is also asked of a random other worker of the pool.
    mutating func startAudit(_ id: UInt64, pool: [UInt64]) {
        guard options.auditFraction > 0, auditChoices.nextUnit() < options.auditFraction, let request = requests[id],
              let worker = request.streams[0]?.worker,
              let auditor = pick(from: pool.filter { request.assignment[$0] == nil })
        else { return }
        let (base, lookahead) = (request.context.count, lookahead(blockLength: request.blockLength))
        requests.update(id) { $0.audit = DraftAudit(draft: 0, base: base, lookahead: lookahead, worker: worker, auditor: auditor) }
        speculate(request, drafts: [0], to: auditor, from: base)
        metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "started"])
    }

    /// A drafter's tokens of the audited draft: compared with the others'.
    mutating func audited(_ block: DraftToken, from drafter: UInt64, in id: UInt64, at now: ContinuousClock.Instant) {
        guard let finding = requests.update(id, { request in
            request.audit?.record(drafter, from: Int(block.basePosition), tokens: block.tokens, rows: block.distributions)
        }) ?? nil, let request = requests[id], let audit = request.audit else { return }
        switch finding {
        case .pending, .agreeing:
            return
        case .disputed:
            metrics.add(CoordinatorMetrics.audits, labels: ["outcome": "disputed"])
            guard let tiebreaker = pick(from: workers.pool(of: audit.drafters[0], at: now).filter { !audit.isDrafter($0) && request.assignment[$0] == nil }) else {
                logger.warning("an audit found two workers' rows different, and no third worker can break the tie",
                               metadata: ["request.id": "\(id)", "workers": "\(audit.drafters)"])
                return close(audit: id, outcome: "inconclusive")
            }
            requests.update(id) { $0.audit?.addTiebreaker(tiebreaker) }
            speculate(request, drafts: [audit.draft], to: tiebreaker, from: audit.base)
        case .outvoted(let liar):
            close(audit: id, outcome: "outvoted")
            quarantine(liar, why: "its draft rows differ from two other workers' of its pool for the same draft (request \(id))")
        case .inconclusive:
            logger.warning("an audit's three workers shipped three different rows", metadata: ["request.id": "\(id)"])
            close(audit: id, outcome: "inconclusive")
        }
    }

    private mutating func close(audit id: UInt64, outcome: String) {
        metrics.add(CoordinatorMetrics.audits, labels: ["outcome": outcome])
        requests.update(id) { $0.audit = nil }
    }

    /// A random one of `peers`, on the coordinator's own stream.
    private mutating func pick(from peers: [UInt64]) -> UInt64? {
        peers.isEmpty ? nil : peers[Int(auditChoices.next() % UInt64(peers.count))]
    }

    /// Disconnects a worker that an audit proved wrong and refuses its node id from then on.
    mutating func quarantine(_ worker: UInt64, why: String) {
        // Once: other audits may outvote it again before its connection has closed.
        guard let state = workers[worker], workers.quarantine(state.nodeID) else { return }
        metrics.add(CoordinatorMetrics.workersQuarantined)
        logger.error("quarantining worker", metadata: ["worker": "\(state.nodeID)", "peer": "\(worker)", "reason": "\(why)"])
        refuse(worker, code: .protocolViolation, "quarantined: \(why)")
    }
}
