import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Target passes: whenever the target is free, one batched pass over every request that has
/// something to score — the context's newest token and the tokens its drafts have delivered past
/// it so far — then the verifier, and the tokens out to the client and the workers.
///
/// The target never waits for a whole block: a pass takes what has arrived (up to γ tokens a
/// draft), and the workers keep drafting meanwhile. When a pass accepts all it was given, the
/// next token is not the verifier's bonus token but one drawn from the same target row coupled
/// with the drafts' own next tokens (`FirstTokenCoupling`), so that the drafts usually go on.
/// With no draft tokens yet (a request's first pass, or after a rejection, while the workers
/// draft from the new context) the target scores the newest token alone meanwhile.
extension CoordinatorCore {
    /// Starts a target pass over every request that is ready, unless one is running (it calls
    /// again when it ends). The pass runs on the scoring queue so the actor keeps collecting
    /// drafts meanwhile; its rows come back as a `.scored` event.
    func schedule() {
        guard !scoring else { return }
        let steps = requests.keys.sorted().compactMap { prepareStep($0) }
        guard !steps.isEmpty else { return }
        scoring = true
        let items = steps.map { ScoringItem(request: $0.id, context: requests[$0.id]!.context, tree: $0.tree, sampling: requests[$0.id]!.sampling) }
        let scorer = self.scorer, events = self.events, metrics = self.metrics
        metrics.observe(CoordinatorMetrics.targetPassRequests, Double(items.count))
        metrics.observe(CoordinatorMetrics.targetPassTokens, Double(items.reduce(0) { $0 + $1.tree.count }))
        scoringQueue.async {
            let start = ContinuousClock.now
            let rows = scorer.scoreBatch(items)
            metrics.observe(CoordinatorMetrics.targetPassSeconds, (ContinuousClock.now - start) / .seconds(1))
            events.yield(.scored(ScoredBatch(steps: steps, rows: rows, micros: (ContinuousClock.now - start) / .microseconds(1))))
        }
    }

    /// What the request contributes to the next pass, or nil when it must wait for draft tokens
    /// (or finished, or its client does not read: it is paused until the client's connection
    /// drains). First draws the token at a position a finished pass scored, once every live draft
    /// has its token there (or the round deadline passed: the drafts without one end).
    func prepareStep(_ id: UInt64) -> PassStep? {
        guard var request = requests[id], !request.inPass, !request.client.isBackedUp else { return nil }
        var waited = 0.0
        if let scored = request.scoredNext {
            let position = request.context.count
            let live = request.liveStreams
            let ready = live.filter { $0.stream.available(from: position) > 0 }
            if waits(for: live.filter { $0.stream.available(from: position) == 0 }.map(\.index), &request) { return nil }
            waited += stopWaiting(&request)
            let firsts = ready.map { $0.stream.slice(from: position, count: 1) }.map { (token: $0.tokens[0], row: $0.rows[0]) }
            let token = FirstTokenCoupling.token(verifier: request.verifier, targetRow: scored.row, firsts: firsts, choices: &request.choices)
            request.scoredNext = nil
            guard emit([token], acceptedDraftTokens: firsts.contains { $0.token == token } ? 1 : 0, stats: scored.ownPass, request: &request) else { return nil }
        }
        if request.liveStreams.isEmpty { beginRound(&request) }
        let position = request.context.count
        let live = request.liveStreams
        let candidates = live.filter { $0.stream.available(from: position) > 0 }
        if candidates.isEmpty && !options.decodeWhileDrafting && waits(for: live.map(\.index), &request) { return nil }
        let depth = min(request.blockLength, candidates.map { $0.stream.available(from: position) }.min() ?? 0)
        var drafts: [[Token]] = [], rows: [[SparseDistribution]] = [], indices: [Int] = []
        for (index, stream) in candidates where depth > 0 {
            var (tokens, drawnFrom) = stream.slice(from: position, count: depth)
            if options.misalignsDraftRows && position > stream.base { drawnFrom = stream.slice(from: position - 1, count: depth).rows }
            drafts.append(tokens)
            rows.append(drawnFrom)
            indices.append(index)
        }
        let (tree, draftRows, kept) = RoundTree.build(drafts: drafts, rows: rows)
        waited += stopWaiting(&request)
        request.inPass = true
        requests[id] = request
        return PassStep(id: id, round: request.round, tree: tree, draftRows: draftRows, draftIndices: kept.map { indices[$0] }, waited: waited,
                        continued: kept.filter { request.streams[indices[$0]]!.base < position }.count)
    }

    /// A target pass finished: verifies each of its steps, then starts the next pass.
    func scored(_ batch: ScoredBatch) {
        scoring = false
        // A request's first pass also reads its prompt: not a pass of its tree's size.
        if !batch.steps.contains(where: { requests[$0.id]?.targetPasses == 0 }) {
            passCost.observe(tokens: batch.steps.reduce(0) { $0 + $1.tree.count }, micros: batch.micros)
        }
        for (step, targetRows) in zip(batch.steps, batch.rows) {
            guard requests[step.id] != nil else {
                scorer.release(request: step.id)  // cancelled during the pass
                continue
            }
            verify(step, targetRows: targetRows, batch: batch.steps.count, scoreMicros: batch.micros)
        }
        schedule()
    }

    func verify(_ step: PassStep, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        let id = step.id
        guard var request = requests[id] else { return }
        request.inPass = false
        let tree = step.tree
        var stats = RoundStats()
        stats.round = request.round
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        stats.adaptive = request.adaptive
        stats.waitMicros = step.waited * 1e6
        guard tree.count > 1 else {
            // The newest token alone: its row waits for the drafts' tokens there (for a request
            // without drafts, plain decoding).
            scorer.accept(request: id, nodes: [])
            stats.decodedWhileDrafting = !request.streams.isEmpty
            if !stats.decodedWhileDrafting { request.rounds += 1 }
            request.targetPasses += 1
            request.scoredNext = GenerationRequest.ScoredPosition(row: targetRows[0], ownPass: stats)
            requests[id] = request
            return
        }
        let depth = tree.leaves.map { tree[$0].depth }.max() ?? 0
        let verifyStart = Date()
        let problem = VerificationProblem(tree: tree, draft: step.draftRows, target: targetRows, blockLength: depth)
        let outcome = request.verifier.verify(problem, choices: &request.choices)
        let verified = Date()
        var planner = planners[request.planningRegime] ?? SpeculationPlanner()
        planner.observeRound(drafts: tree.draftCount, block: depth, accepted: outcome.acceptedLength)
        // A request's first pass also reads its prompt: its time says nothing of the passes after it.
        if request.targetPasses > 0 {
            planner.observeWait(micros: step.waited * 1e6, drafts: request.drafts, block: depth)
            planner.observeThroughput(drafts: tree.draftCount, tokens: outcome.acceptedLength + 1, micros: step.waited * 1e6 + scoreMicros)
        }
        planners[request.planningRegime] = planner
        scorer.accept(request: id, nodes: Array(tree.nodePath(to: outcome.acceptedNode).dropFirst()))
        // Accepted to a leaf: the next token comes from the leaf's row, coupled with the drafts.
        let whole = outcome.acceptedLength > 0 && tree[outcome.acceptedNode].children.isEmpty

        stats.drafts = UInt32(tree.draftCount)
        stats.blockLength = UInt32(depth)
        stats.accepted = UInt32(outcome.acceptedLength)
        stats.draftIndex = outcome.draftIndex.map { Int32(step.draftIndices[$0]) } ?? -1
        stats.continuedDrafts = UInt32(step.continued)
        stats.acceptanceEstimate = planner.acceptance
        (stats.passCostFixedMicros, stats.passCostPerTokenMicros) = passCost.line
        stats.draftWaitPerTokenMicros = planner.waitPerBlockToken(drafts: request.drafts) ?? 0
        stats.verifyMicros = verified.timeIntervalSince(verifyStart) * 1e6
        request.rounds += 1
        request.targetPasses += 1
        let tokens = whole ? outcome.acceptedTokens : outcome.emittedTokens
        guard emit(tokens, acceptedDraftTokens: outcome.acceptedLength, stats: stats, request: &request) else { return }
        if whole { request.scoredNext = GenerationRequest.ScoredPosition(row: targetRows[outcome.acceptedNode], ownPass: nil) }
        requests[id] = request
    }

    /// One verified pass (or coupled token) in the metrics.
    func record(_ stats: RoundStats?, emitted: Int) {
        metrics.add(CoordinatorMetrics.tokens, Double(emitted))
        guard let stats else { return }
        if stats.decodedWhileDrafting { return metrics.add(CoordinatorMetrics.decodedWhileDrafting) }
        metrics.add(CoordinatorMetrics.rounds)
        metrics.add(CoordinatorMetrics.acceptedDraftTokens, Double(stats.accepted))
        metrics.observe(CoordinatorMetrics.verifierSeconds, stats.verifyMicros / 1e6)
        metrics.observe(CoordinatorMetrics.draftWaitSeconds, stats.waitMicros / 1e6)
        guard stats.drafts > 0 else { return }
        for position in 1...max(1, Int(stats.blockLength)) {
            metrics.add(CoordinatorMetrics.roundsAtPosition, labels: ["position": "\(position)"])
            if Int(stats.accepted) >= position { metrics.add(CoordinatorMetrics.acceptedAtPosition, labels: ["position": "\(position)"]) }
        }
    }

    /// Appends tokens to the request, streams them to its client (with the stats of the pass
    /// they came from, if any), keeps the workers in step and ends the drafts that disagree;
    /// finishes the request when the tokens end it (length, end of sequence, stop string).
    /// Returns false when the request is finished and gone.
    func emit(_ tokens: [Token], acceptedDraftTokens: Int, stats: RoundStats?, request: inout GenerationRequest) -> Bool {
        let id = request.id
        var emitted = Array(tokens.prefix(request.maxTokens - request.generated))
        var finish: FinishReason?
        if let eos = target.endOfSequence, let at = emitted.firstIndex(of: eos) {
            emitted = Array(emitted[...at])
            finish = .endOfSequence
        }
        let oldLength = request.context.count
        request.context += emitted
        request.checkStreams()
        request.acceptedDraftTokens += UInt64(min(acceptedDraftTokens, emitted.count))
        var delta = ""
        if var decoder = request.text {
            delta = decoder.append(emitted.filter { $0 != target.endOfSequence })
            request.text = decoder
            request.generatedText += delta
            if finish == nil, request.stop.contains(where: { !$0.isEmpty && request.generatedText.contains($0) }) { finish = .stop }
        }
        if finish == nil && request.generated >= request.maxTokens { finish = .length }
        if finish != nil, var decoder = request.text { delta += decoder.finish() }

        record(stats, emitted: emitted.count)
        var chunk = TokenChunk()
        chunk.requestID = request.clientRequestID
        chunk.tokens = emitted.map { UInt32($0) }
        chunk.text = delta
        chunk.rounds = stats.map { [$0] } ?? []
        request.client.send(.tokenChunk(chunk))
        logger.trace("tokens", metadata: ["request.id": "\(id)", "round": "\(request.round)", "tokens": "\(emitted.count)", "accepted": "\(stats?.accepted ?? 0)",
                                          "waited.ms": "\(Int((stats?.waitMicros ?? 0) / 1000))"])

        guard let finish else {
            keepWorkersInStep(request, from: oldLength)
            return true
        }
        request.client.send(.done(request.done(finish)))
        requests[id] = request
        end(id, reason: finish)
        logger.debug("request finished", metadata: ["request.id": "\(id)", "reason": "\(finish.metricLabel)", "tokens": "\(request.generated)", "rounds": "\(request.rounds)"])
        return false
    }

    /// Sends the tokens past `oldLength` as `Accepted` to the workers that hold the request's
    /// context up to there.
    func keepWorkersInStep(_ request: GenerationRequest, from oldLength: Int) {
        var accepted = Accepted()
        accepted.requestID = request.id
        accepted.round = request.round
        accepted.tokens = request.context[oldLength...].map { UInt32($0) }
        accepted.newPosition = UInt32(request.context.count)
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.synced[request.id] == oldLength else { continue }
            worker.connection.send(.accepted(accepted))
            worker.synced[request.id] = request.context.count
            peers[connectionID] = .worker(worker)
        }
    }
}
