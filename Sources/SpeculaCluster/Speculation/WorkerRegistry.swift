import SpeculaNet

/// The coordinator's draft workers (by peer id) and what it knows of each: identity, speed, the
/// context it holds per request, its queue, its faults and whether it sits out rounds. Owns the
/// pools (workers with one draft-model fingerprint) and the quarantine list.
package struct WorkerRegistry {
    package private(set) var workers: [UInt64: WorkerState] = [:]
    /// Node ids of workers an audit proved wrong: refused when they come back.
    package private(set) var quarantined: Set<String> = []
    /// Draft-model pools ever seen (their gauge drops to 0 when they empty).
    private var knownPools: Set<String> = []

    /// One worker as the coordinator sees it.
    package struct WorkerState {
        let nodeID: String
        let fingerprint: String
        /// Announced drafting speed (tokens/s; 0 = unknown).
        let tokensPerSecond: Double
        /// Announced limit on drafts per round (0 = none).
        let maxDrafts: Int
        /// A model-free drafter (it announced no tokenizer): point-mass drafts that renew
        /// themselves (`DraftStream.renews`).
        var modelFree = false
        /// How many context tokens this worker holds, per request.
        var synced: [UInt64: Int] = [:]
        /// Drafts asked of this worker that have not delivered a token yet, per request: its
        /// queue, which the next assignment weighs (a worker busy with other requests' drafts, or
        /// stalled, gets fewer).
        var pending: [UInt64: Int] = [:]
        /// Tokens that failed the coordinator's checks.
        var violations = 0
        /// Wait deadlines missed without a token since the last delivery, and until when the
        /// worker is left out of rounds for them.
        var missedInARow = 0
        var benchedUntil: ContinuousClock.Instant?

        var queuedDrafts: Int { pending.values.reduce(0, +) }

        /// A draft's first token arrived: the worker delivers again.
        mutating func delivered() { (missedInARow, benchedUntil) = (0, nil) }

        /// A draft got nothing by the deadline: out of rounds for 2, 4, 8, … up to 64 seconds.
        mutating func missedDeadline(at now: ContinuousClock.Instant) {
            missedInARow += 1
            benchedUntil = now + .seconds(1 << min(missedInARow, 6))
        }
    }

    subscript(peer: UInt64) -> WorkerState? { workers[peer] }

    mutating func join(_ peer: UInt64, _ state: WorkerState, metrics: MetricsRegistry) {
        workers[peer] = state
        updateGauge(metrics)
    }

    mutating func leave(_ peer: UInt64, metrics: MetricsRegistry) -> WorkerState? {
        defer { updateGauge(metrics) }
        return workers.removeValue(forKey: peer)
    }

    /// Changes a connected worker's state; a peer that is not one is left alone.
    mutating func update(_ peer: UInt64, _ change: (inout WorkerState) -> Void) {
        guard var state = workers[peer] else { return }
        change(&state)
        workers[peer] = state
    }

    /// Adds a node id to the quarantine; false when it was there already.
    mutating func quarantine(_ nodeID: String) -> Bool { quarantined.insert(nodeID).inserted }

    /// Every pool's workers (peer ids, ascending) by draft-law fingerprint, counting only workers
    /// not benched for missing deadlines: a pool that does not deliver loses its rounds.
    func pools(at now: ContinuousClock.Instant) -> [String: [UInt64]] {
        var pools: [String: [UInt64]] = [:]
        for (peer, w) in workers.sorted(by: { $0.key < $1.key }) where w.benchedUntil.map({ $0 <= now }) ?? true {
            pools[w.fingerprint, default: []].append(peer)
        }
        return pools
    }

    /// The workers of the pool `peer` belongs to (itself included; empty if it is benched or gone).
    func pool(of peer: UInt64, at now: ContinuousClock.Instant) -> [UInt64] {
        workers[peer].flatMap { pools(at: now)[$0.fingerprint] } ?? []
    }

    /// Forgets a request everywhere: which workers held its context (returned: they are told to
    /// drop it) and its drafts in their queues.
    mutating func forget(request id: UInt64) -> [UInt64] {
        var holders: [UInt64] = []
        for peer in workers.keys {
            if workers[peer]!.synced.removeValue(forKey: id) != nil { holders.append(peer) }
            workers[peer]!.pending[id] = nil
        }
        return holders.sorted()
    }

    /// Drops a request's drafts from every worker's queue (a new round replaces them).
    mutating func forgetPending(_ id: UInt64) {
        for peer in workers.keys { workers[peer]!.pending[id] = nil }
    }

    /// The workers that hold a request's context up to exactly `length` tokens.
    func holders(of id: UInt64, upTo length: Int) -> [UInt64] {
        workers.filter { $0.value.synced[id] == length }.keys.sorted()
    }

    /// Refreshes the worker gauge (per draft-model pool) after a worker joins or leaves.
    private mutating func updateGauge(_ metrics: MetricsRegistry) {
        var pools: [String: Int] = [:]
        for w in workers.values { pools[w.fingerprint, default: 0] += 1 }
        for (fingerprint, count) in pools { metrics.set(CoordinatorMetrics.workers, Double(count), labels: ["draft_model": fingerprint]) }
        for fingerprint in knownPools.subtracting(pools.keys) { metrics.set(CoordinatorMetrics.workers, 0, labels: ["draft_model": fingerprint]) }
        knownPools.formUnion(pools.keys)
    }
}
