import SpeculaCore
import SpeculaNet

/// A finished pass: each step's tree verified against the target's rows, the tokens out to the
/// client and, as `Accepted`, to the workers that hold the context; requests that the tokens end
/// finish.
extension SpeculationCore {
    mutating func finish(_ pass: TargetPass, rows: [[DenseDistribution]], duration: Duration, at now: ContinuousClock.Instant) {
        scoring = false
        let micros = duration / .microseconds(1)
        // A request's first pass also reads its prompt: not a pass of its tree's size.
        let prompt = pass.steps.contains { requests[$0.id]?.targetPasses == 0 }
        if !prompt { passCost.observe(tokens: pass.tokens, micros: micros) }
        for (step, targetRows) in zip(pass.steps, rows) {
            guard requests[step.id] != nil else {
                outbox.append(.release(request: step.id))  // cancelled during the pass
                continue
            }
            verify(step, targetRows: targetRows, batch: pass.steps.count, scoreMicros: micros, at: now)
        }
        weighDrafting(prompt: prompt, at: now)
    }

    private mutating func verify(_ step: PassStep, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double, at now: ContinuousClock.Instant) {
        let id = step.id, tree = step.tree
        var stats = PassStats()
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        stats.waitMicros = step.waited / .microseconds(1)
        guard tree.count > 1 else {
            // The newest token alone: its row waits for the drafts' tokens there (for a request
            // without drafts, plain decoding).
            outbox.append(.commit(request: id, nodes: []))
            requests.update(id) { request in
                request.inPass = false
                (stats.round, stats.adaptive, stats.decodedWhileDrafting) = (request.round, request.adaptive, !request.streams.isEmpty)
                if !stats.decodedWhileDrafting { request.rounds += 1 }
                request.targetPasses += 1
                request.scoredNext = GenerationRequest.ScoredPosition(row: targetRows[0], ownPass: stats)
            }
            return
        }
        let depth = tree.leaves.map { tree[$0].depth }.max() ?? 0
        guard let (outcome, request) = requests.update(id, { request in
            request.inPass = false
            let problem = step.merged.problem(target: targetRows, blockLength: depth)
            let outcome = request.verifier.verify(problem, choices: &request.choices)
            request.rounds += 1
            request.targetPasses += 1
            return (outcome, request)
        }) else { return }
        let planner = learn(from: step, outcome: outcome, request: request, depth: depth, scoreMicros: scoreMicros)
        stats.pools = creditPools(of: step, outcome: outcome, request: request)
        outbox.append(.commit(request: id, nodes: Array(tree.nodePath(to: outcome.acceptedNode).dropFirst())))
        // Accepted to a leaf: the next token comes from the leaf's row, coupled with the drafts.
        let whole = outcome.acceptedLength > 0 && tree[outcome.acceptedNode].children.isEmpty
        (stats.round, stats.adaptive) = (request.round, request.adaptive)
        stats.drafts = UInt32(tree.draftCount)
        stats.depth = UInt32(depth)
        stats.accepted = UInt32(outcome.acceptedLength)
        stats.draftIndex = outcome.draftIndex.map { Int32(step.draftIndices[$0]) } ?? -1
        stats.continuedDrafts = UInt32(step.continued)
        stats.acceptanceEstimate = planner.acceptance
        (stats.passCostFixedMicros, stats.passCostPerTokenMicros) = passCost.line
        stats.draftWaitPerTokenMicros = planner.waitPerBlockToken(drafts: request.drafts) ?? 0
        let tokens = whole ? outcome.acceptedTokens : outcome.emittedTokens
        guard emit(tokens, acceptedDraftTokens: outcome.acceptedLength, stats: stats, request: id, at: now) else { return }
        if whole { requests.update(id) { $0.scoredNext = GenerationRequest.ScoredPosition(row: targetRows[outcome.acceptedNode], ownPass: nil) } }
    }

    /// The pass's tokens and time go to `draftingPayoff`; when plain batching takes over at this
    /// load, the adaptive requests' drafts stop (their next rounds have none). A pass with a
    /// request that sets its own drafts (or none) is left out like a prompt's: the payoff does not
    /// steer it, so the pass measures neither mode.
    private mutating func weighDrafting(prompt: Bool, at now: ContinuousClock.Instant) {
        let running = admission.running.count
        let steered = admission.running.allSatisfy { requests[$0]?.adaptive ?? true }
        let cost = plannedPassCost, plainEstimate = Double(running) * 1e6 / (cost.fixed + cost.perToken * Double(running))
        guard let epoch = draftingPayoff.passFinished(running: running, plainEstimate: plainEstimate, unmeasured: prompt || !steered,
                                                      at: now) else { return }
        logger.debug("drafting payoff epoch", metadata: [
            "level": "\(epoch.level)", "mode": "\(epoch.mode)", "tokens/s": "\(Int(epoch.tokensPerSecond))",
            "plain estimate": "\(Int(plainEstimate))", "next": "\(epoch.next)",
        ])
        guard epoch.changed else { return }
        let mode = epoch.next
        metrics.set(CoordinatorMetrics.draftingOn, mode == .drafting ? 1 : 0)
        metrics.add(CoordinatorMetrics.draftingModeChanges, labels: ["mode": mode == .drafting ? "drafting" : "plain"])
        guard mode == .plain else { return }
        for id in requests.ids where requests[id]!.adaptive {
            requests.update(id) { $0.stopDrafts() }
        }
    }

    /// The planner of the request's regime learns the pass's acceptance, wait and throughput.
    private mutating func learn(from step: PassStep, outcome: VerificationOutcome, request: GenerationRequest, depth: Int,
                                scoreMicros: Double) -> SpeculationPlanner {
        let regime = regimePlanner(for: request)
        var planner = regime.planner
        planner.observeRound(drafts: step.tree.draftCount, block: depth, accepted: outcome.acceptedLength)
        // A request's first pass also reads its prompt: its time says nothing of the passes after it.
        if request.targetPasses > 1 {
            let waited = step.waited / .microseconds(1)
            planner.observeWait(micros: waited, drafts: request.drafts, block: depth)
            planner.observeThroughput(drafts: step.tree.draftCount, tokens: outcome.acceptedLength + 1, micros: waited + scoreMicros)
        }
        planners[regime.regime] = planner
        return planner
    }

    /// Each pool that served the pass: how much of the accepted path its drafts covered
    /// (`PoolAcceptance`, and the per-pool metrics). Returns their fingerprints in the
    /// verifier's order.
    private mutating func creditPools(of step: PassStep, outcome: VerificationOutcome, request: GenerationRequest) -> [String] {
        let tree = step.tree
        let path = tree.nodePath(to: outcome.acceptedNode)
        let poolOf = { (draft: Int) in request.streams[step.draftIndices[draft]]?.pool ?? 0 }
        let served = Set((0..<tree.draftCount).map(poolOf)).sorted().filter { request.roundPools.indices.contains($0) }
        for k in served {
            let covered = path.lastIndex { tree[$0].drafts.contains { poolOf($0) == k } } ?? 0
            let fingerprint = request.roundPools[k]
            poolAcceptance.observe(pool: fingerprint, in: request.poolRegime, covered: covered)
            metrics.add(CoordinatorMetrics.poolPasses, labels: ["draft_model": fingerprint])
            metrics.add(CoordinatorMetrics.poolCoveredTokens, Double(covered), labels: ["draft_model": fingerprint])
        }
        return served.map { request.roundPools[$0] }
    }

    /// One verified pass (or coupled token) in the metrics.
    private func record(_ stats: PassStats?, emitted: Int) {
        metrics.add(CoordinatorMetrics.tokens, Double(emitted))
        guard let stats else { return }
        if stats.decodedWhileDrafting { return metrics.add(CoordinatorMetrics.decodedWhileDrafting) }
        metrics.add(CoordinatorMetrics.passes)
        metrics.add(CoordinatorMetrics.acceptedDraftTokens, Double(stats.accepted))
        metrics.observe(CoordinatorMetrics.draftWaitSeconds, stats.waitMicros / 1e6)
        guard stats.drafts > 0 else { return }
        metrics.add(CoordinatorMetrics.specDecodeDrafts, Double(stats.drafts))
        metrics.add(CoordinatorMetrics.specDecodeDraftTokens, Double(stats.drafts * stats.depth))
        metrics.add(CoordinatorMetrics.specDecodeAcceptedTokens, Double(stats.accepted))
        for position in 1...max(1, Int(stats.depth)) {
            metrics.add(CoordinatorMetrics.passesReachingPosition, labels: ["position": "\(position)"])
            guard Int(stats.accepted) >= position else { continue }
            metrics.add(CoordinatorMetrics.acceptedAtPosition, labels: ["position": "\(position)"])
            metrics.add(CoordinatorMetrics.specDecodeAcceptedPerPosition, labels: ["position": "\(position - 1)"])
        }
    }

    /// Appends tokens to the request, streams them to its client (with the stats of the pass
    /// they came from, if any), keeps the workers in step and ends the drafts that disagree;
    /// finishes the request when the tokens end it (length, end of sequence, stop string).
    /// Returns false when the request is finished and gone.
    mutating func emit(_ tokens: [Token], acceptedDraftTokens: Int, stats: PassStats?, request id: UInt64, at now: ContinuousClock.Instant) -> Bool {
        let eos = target.endOfSequence
        guard let (request, emitted, delta, finish, previous) = requests.update(id, { request in
            let (emitted, delta, finish) = request.append(tokens, acceptedDraftTokens: acceptedDraftTokens, endOfSequence: eos)
            defer { request.lastEmission = now }
            return (request, emitted, delta, finish, request.lastEmission)
        }) else { return false }
        record(stats, emitted: emitted.count)
        draftingPayoff.emitted(emitted.count)
        draftSupply.accepted(acceptedDraftTokens)
        recordLatencies(of: request, since: previous, at: now, finished: finish != nil)
        var chunk = TokenChunk()
        chunk.requestID = request.clientRequestID
        chunk.tokens = emitted.map { UInt32($0) }
        chunk.text = delta
        chunk.passes = stats.map { [$0] } ?? []
        send(.tokenChunk(chunk), to: request.client)
        logger.trace("tokens", metadata: ["request.id": "\(id)", "round": "\(request.round)", "tokens": "\(emitted.count)", "accepted": "\(stats?.accepted ?? 0)"])
        guard let finish else {
            keepWorkersInStep(request, from: request.context.count - emitted.count)
            return true
        }
        send(.done(request.done(finish, at: now)), to: request.client)
        end(id, reason: finish)
        logger.debug("request finished", metadata: ["request.id": "\(id)", "reason": "\(finish.metricLabel)", "tokens": "\(request.generated)", "rounds": "\(request.rounds)"])
        return false
    }

    /// Sends the tokens past `oldLength` as `Accepted` to the workers that hold the request's
    /// context up to there.
    private mutating func keepWorkersInStep(_ request: GenerationRequest, from oldLength: Int) {
        var accepted = Accepted()
        accepted.requestID = request.id
        accepted.round = request.round
        accepted.tokens = request.context[oldLength...].map { UInt32($0) }
        accepted.newPosition = UInt32(request.context.count)
        for worker in workers.holders(of: request.id, upTo: oldLength) {
            send(.accepted(accepted), to: worker)
            workers.update(worker) { $0.synced[request.id] = request.context.count }
        }
    }

    /// The server-side latencies of an emission: time to first token, else the gap since the
    /// previous emission (one inter-token sample per chunk, as clients see them); end to end
    /// when it finished the request.
    private func recordLatencies(of request: GenerationRequest, since previous: ContinuousClock.Instant?,
                                 at now: ContinuousClock.Instant, finished: Bool) {
        if let previous {
            metrics.observe(CoordinatorMetrics.interTokenSeconds, (now - previous) / .seconds(1))
        } else {
            metrics.observe(CoordinatorMetrics.timeToFirstTokenSeconds, (now - request.started) / .seconds(1))
        }
        if finished { metrics.observe(CoordinatorMetrics.requestSeconds, (now - request.started) / .seconds(1)) }
    }
}
