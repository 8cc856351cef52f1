import SpeculaCore
import SpeculaNet

/// Planning target passes: whenever the target is free, one batched pass over every request that
/// has something to score — the context's newest token and the tokens its drafts have delivered
/// past it so far.
///
/// The target never waits for a whole block: a pass takes what has arrived (up to γ tokens a
/// draft), and the workers keep drafting meanwhile. When a pass accepts all it was given, the
/// next token is not the verifier's bonus token but one drawn from the same target row coupled
/// with the drafts' own next tokens (`FirstTokenCoupling`), so that the drafts usually go on.
/// With no draft tokens yet (a request's first pass, or after a rejection, while the workers
/// draft from the new context) the target scores the newest token alone meanwhile.
///
/// How deep each request's drafts go into the pass is chosen for the whole batch
/// (`BatchPlanner`): draft tokens are verified where they are expected to pay for the longer
/// pass. An adaptive request whose drafts would not pay even at their full depth gets no drafts
/// in its next rounds (it decodes plainly in the batch) until they would.
extension SpeculationCore {
    /// A request ready for the pass: the drafts with tokens past its context, and how long it
    /// waited for them.
    struct ReadyRequest {
        let id: UInt64
        let candidates: [(index: Int, stream: DraftStream)]
        let waited: Duration

        /// The depth its drafts reach past `request`'s context: the longest one's (a pass takes
        /// each draft as far as it has arrived, up to the pass's depth, so a draft that arrives
        /// fast — a model-free one — is not cut to the slowest), a model's at most γ.
        func reach(in request: GenerationRequest) -> Int {
            candidates.map { SpeculationCore.depth(of: $0.stream, in: request) }.max() ?? 0
        }
    }

    /// How many of a draft's tokens past the request's context a pass may take: as many as have
    /// arrived, a model's at most γ (a model-free draft runs to its own lookahead).
    static func depth(of stream: DraftStream, in request: GenerationRequest) -> Int {
        let available = stream.available(from: request.context.count)
        return stream.renews ? available : min(request.blockLength, available)
    }

    /// Starts a pass over every request that is ready, if any is.
    mutating func startPass(at now: ContinuousClock.Instant, paused: Set<UInt64>) {
        balanceAdmission()
        var ready = requests.ids.compactMap { prepareStep($0, at: now, paused: paused) }
        guard !ready.isEmpty else { return }
        learnDraftSupply(ready: Set(ready.map(\.id)))
        if let token = options.dropsDraftsWithTokenForTesting { ready = ready.map { dropDrafts(holding: token, $0) } }
        let depths = planDepths(ready)
        let steps = zip(ready, depths).map { step(for: requests[$0.id]!, from: $0.candidates, depth: $1, waited: $0.waited) }
        scoring = true
        let pass = TargetPass(steps: steps)
        metrics.observe(CoordinatorMetrics.targetPassRequests, Double(steps.count))
        metrics.observe(CoordinatorMetrics.targetPassTokens, Double(pass.tokens))
        outbox.append(.score(pass))
    }

    /// Notes in `draftSupply` how many drafts run and how many of them make their request miss
    /// the pass that starts, waiting for their next token.
    private mutating func learnDraftSupply(ready: Set<UInt64>) {
        let drafting = requests.ids.filter { requests[$0]!.admitted && !requests[$0]!.liveStreams.isEmpty }
        let lagging = drafting.filter { !ready.contains($0) && requests[$0]!.waitingSince != nil }
        let table = requests
        func streams(_ ids: [UInt64]) -> Int { ids.reduce(0) { $0 + table[$1]!.liveStreams.count } }
        draftSupply.passStarted(drafting: streams(drafting), requests: drafting.count, lagging: streams(lagging), missing: lagging.count)
        metrics.set(CoordinatorMetrics.requestsDrafting, Double(drafting.count))
        metrics.set(CoordinatorMetrics.draftSupplyLimit, Double(draftSupply.limit ?? 0))
        logger.debug("pass starts", metadata: ["ready": "\(ready.count)", "drafting": "\(drafting.count)", "lagging": "\(lagging.count)",
                                               "supply": "\(draftSupply.limit.map(String.init) ?? "open")"])
    }

    /// The least a pass costs besides the target's scoring, in microseconds.
    static let passOverheadMicros = 1_000.0

    /// The pass cost line as planning uses it. A pass also costs the coordinator's own work around
    /// it (verification, messages, scheduling), which the scorer's time leaves out: without that
    /// floor, a target that takes microseconds (toy, synthetic) would have its drafts cut by
    /// timing noise.
    var plannedPassCost: (fixed: Double, perToken: Double) {
        (max(passCost.line.fixed, Self.passOverheadMicros), passCost.line.perToken)
    }

    /// How deep each ready request's drafts go into the pass; notes for each adaptive request
    /// whether drafts would pay at their full depth (K and γ as planned), which its next round
    /// follows.
    private mutating func planDepths(_ ready: [ReadyRequest]) -> [Int] {
        func candidate(_ request: GenerationRequest, drafts: Int, depth: Int, waiting: Bool = false) -> BatchPlanner.Candidate {
            let planner = planner(for: request)
            // Drafts still to come cost the wait for them, as observed per block token.
            let wait = waiting ? planner.waitPerBlockToken(drafts: max(drafts, 1)) ?? 0 : 0
            return .init(drafts: drafts, expectedTokens: (0...depth).map { planner.expectedTokens(drafts: max(drafts, 1), block: $0) },
                         waitPerToken: wait)
        }
        let cost = plannedPassCost
        let actual = ready.map { r -> BatchPlanner.Candidate in
            let request = requests[r.id]!
            return candidate(request, drafts: r.candidates.count, depth: r.reach(in: request))
        }
        let potential = ready.map {
            candidate(requests[$0.id]!, drafts: max(requests[$0.id]!.drafts, 1), depth: requests[$0.id]!.blockLength, waiting: true)
        }
        for (r, depth) in zip(ready, BatchPlanner.depths(potential, passCost: cost)) where requests[r.id]!.adaptive {
            requests.update(r.id) { $0.draftsPay = depth > 0 }
        }
        let depths = BatchPlanner.depths(actual, passCost: cost)
        let deferred = zip(actual, depths).reduce(0) { $0 + $1.0.drafts * ($1.0.available - $1.1) }
        if deferred > 0 { metrics.add(CoordinatorMetrics.draftTokensDeferred, Double(deferred)) }
        return depths
    }

    /// What the request contributes to the next pass, or nil when it must wait for draft tokens
    /// (or finished, or its client does not read). First draws the token at a position a finished
    /// pass scored, once every live draft has its token there (or the wait deadline passed: the
    /// drafts without one end).
    mutating func prepareStep(_ id: UInt64, at now: ContinuousClock.Instant, paused: Set<UInt64>) -> ReadyRequest? {
        guard let request = requests[id], request.admitted, !request.inPass, !paused.contains(request.client) else { return nil }
        var waited = Duration.zero
        if let scored = request.scoredNext {
            let position = request.context.count
            let live = request.liveStreams
            // A model-free draft delivers at once or not at all: waited for only while it renews.
            let lagging = live.filter { $0.stream.available(from: position) == 0 && (!$0.stream.renews || $0.stream.isRenewing) }
            if waits(for: lagging.map(\.index), id, at: now) { return nil }
            waited += stopWaiting(id, at: now)
            let asOneLaw = options.poolsDraftsAsOneLaw
            guard let (token, matched) = requests.update(id, { request -> (Token, Bool) in
                let firsts = request.liveStreams.filter { $0.stream.available(from: position) > 0 }.map { live in
                    let first = live.stream.slice(from: position, count: 1)
                    return (token: first.tokens[0], row: first.rows[0], pool: asOneLaw ? 0 : live.stream.pool)
                }
                request.scoredNext = nil
                let token = FirstTokenCoupling.token(verifier: request.verifier, targetRow: scored.row, firsts: firsts, choices: &request.choices)
                return (token, firsts.contains { $0.token == token })
            }) else { return nil }
            guard emit([token], acceptedDraftTokens: matched ? 1 : 0, stats: scored.ownPass, request: id, at: now) else { return nil }
        }
        if requests[id]!.roundIsOver { beginRound(id, at: now) }
        let live = requests[id]!.liveStreams
        let position = requests[id]!.context.count
        let models = live.filter { !$0.stream.renews }
        var candidates = live.filter { $0.stream.available(from: position) > 0 }
        // Model-free drafts ride along with a model's: alone they would start passes ahead of the
        // model's drafts, which would then arrive behind the context.
        if !models.isEmpty, !candidates.contains(where: { !$0.stream.renews }) { candidates = [] }
        // With no draft token yet, a pass waits for the model's drafts (unless the target decodes
        // alone meanwhile) or, in a round of model-free drafts, for one that renews (its tokens
        // are a round trip away).
        let awaited = models.isEmpty ? live.filter(\.stream.isRenewing) : options.decodeWhileDrafting ? [] : models
        if candidates.isEmpty && waits(for: awaited.map(\.index), id, at: now) { return nil }
        waited += stopWaiting(id, at: now)
        requests.update(id) { $0.inPass = true }
        return ReadyRequest(id: id, candidates: candidates, waited: waited)
    }

    /// The pass step of a request over the drafts that have tokens past its context: each cut
    /// to `depth`, or to what it has delivered. How long each draft is depends on when its tokens
    /// arrived, never on what they are.
    private func step(for request: GenerationRequest, from candidates: [(index: Int, stream: DraftStream)], depth: Int, waited: Duration) -> PassStep {
        let position = request.context.count
        var drafts: [[Token]] = [], rows: [[SparseDistribution]] = [], pools: [Int] = [], indices: [Int] = []
        for (index, stream) in candidates where depth > 0 {
            let count = min(depth, Self.depth(of: stream, in: request))
            var (tokens, drawnFrom) = stream.slice(from: position, count: count)
            if options.misalignsDraftRows && position > stream.base { drawnFrom = stream.slice(from: position - 1, count: count).rows }
            drafts.append(tokens)
            rows.append(drawnFrom)
            pools.append(stream.pool)
            indices.append(index)
        }
        let merged = PassTree(drafts: drafts, rows: rows, pools: options.poolsDraftsAsOneLaw ? nil : pools)
        return PassStep(item: ScoringItem(request: request.id, context: request.context, tree: merged.tree, sampling: request.sampling),
                        round: request.round, merged: merged, draftIndices: merged.kept.map { indices[$0] }, waited: waited,
                        continued: merged.kept.filter { request.streams[indices[$0]]!.base < position }.count)
    }

    /// Whether the request must wait for the drafts at `lagging` (draft indices): it starts (or
    /// goes on) waiting, unless the wait passed its deadline — then those drafts end (their
    /// workers sit out rounds if they delivered nothing) and it goes on without them.
    mutating func waits(for lagging: [Int], _ id: UInt64, at now: ContinuousClock.Instant) -> Bool {
        guard !lagging.isEmpty, let request = requests[id] else { return false }
        guard request.waitedPastDeadline else {
            startWaiting(id, at: now)
            return true
        }
        for index in lagging {
            requests.update(id) { $0.streams[index]!.stop() }
            guard request.streams[index]!.received == 0 else { continue }
            let worker = request.streams[index]!.worker
            workers.update(worker) { $0.missedDeadline(at: now) }
            logger.warning("worker missed a wait deadline", metadata: ["worker": "\(worker)", "missed": "\(workers[worker]?.missedInARow ?? 0)"])
        }
        return false
    }

    /// The request now waits for its drafts' next tokens; the wait deadline bounds the wait.
    private mutating func startWaiting(_ id: UInt64, at now: ContinuousClock.Instant) {
        guard let wait = requests.update(id, { request -> UInt64? in
            guard request.waitingSince == nil else { return nil }
            request.waitingSince = now
            request.waits += 1
            return request.waits
        }) ?? nil else { return }
        outbox.append(.armDeadline(request: id, wait: wait, after: .milliseconds(options.waitDeadlineMs)))
    }

    /// The wait is over; returns how long it was.
    private mutating func stopWaiting(_ id: UInt64, at now: ContinuousClock.Instant) -> Duration {
        requests.update(id) { request in
            defer { (request.waitingSince, request.waitedPastDeadline) = (nil, false) }
            return request.waitingSince.map { now - $0 } ?? .zero
        } ?? .zero
    }

    /// The negative control's wrong step (`dropsDraftsWithTokenForTesting`): ends the drafts that
    /// hold `token` among the tokens the pass would take.
    private mutating func dropDrafts(holding token: Int, _ ready: ReadyRequest) -> ReadyRequest {
        guard let request = requests[ready.id] else { return ready }
        let position = request.context.count
        let depth = ready.reach(in: request)
        let dropped = ready.candidates.filter { $0.stream.slice(from: position, count: depth).tokens.contains(token) }.map(\.index)
        requests.update(ready.id) { request in dropped.forEach { request.streams[$0]?.stop() } }
        return ReadyRequest(id: ready.id, candidates: ready.candidates.filter { !dropped.contains($0.index) }, waited: ready.waited)
    }
}
