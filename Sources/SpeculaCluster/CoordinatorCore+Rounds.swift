import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Rounds: assign drafts, collect them, close the round at its deadline, score ready rounds in
/// one batched target pass, verify, emit.
extension CoordinatorCore {
    /// The live workers of the largest pool (one draft-model fingerprint).
    func pool() -> [WorkerState] {
        var pools: [String: [WorkerState]] = [:]
        for case .worker(let w) in peers.values { pools[w.fingerprint, default: []].append(w) }
        return pools.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }?.value
            .sorted { $0.connection.id < $1.connection.id } ?? []
    }

    func startRound(_ id: UInt64) {
        guard var request = requests[id] else { return }
        request.round += 1
        request.closed = false
        let workers = pool()
        if request.adaptive {
            let speeds = workers.map(\.tokensPerSecond).filter { $0 > 0 }
            let announced = speeds.isEmpty ? 0 : speeds.map { 1e6 / $0 }.reduce(0, +) / Double(speeds.count)
            // Greedy drafts are all the same draft: more than one buys nothing.
            let maxDrafts = request.sampling.isGreedy ? 1 : min(4, options.maxDrafts)
            let choice = planners[request.planningRegime, default: SpeculationPlanner()]
                .choose(maxDrafts: maxDrafts, maxBlock: min(8, options.maxBlockLength), passCost: passCost.line, announcedMicrosPerToken: announced)
            (request.drafts, request.blockLength) = (choice.drafts, choice.block)
        }
        let previous = workers.firstIndex { request.assignment[$0.connection.id] != nil }
        request.assignment = [:]
        request.received = [:]
        request.roundStarted = Date()
        forgetPending(id)
        request.whileDrafting = .idle
        if request.drafts > 0 && !workers.isEmpty {
            // Drafts made from scratch while the target decodes the round's first token itself
            // are one token longer: they serve from their second token on.
            if decodesWhileDrafting(request) { request.whileDrafting = .decoding(fixed: nil) }
            let assignment = DraftAssignment.assign(drafts: request.drafts, speeds: workers.map(\.tokensPerSecond), queued: workers.map(\.queuedBlocks),
                                                    limits: workers.map(\.maxDrafts), previous: previous)
            for (index, w) in assignment.enumerated() {
                request.assignment[workers[w].connection.id, default: []].append(index)
            }
            for worker in workers {
                guard let indices = request.assignment[worker.connection.id] else { continue }
                let synced = min(worker.synced[id] ?? 0, request.context.count)
                var speculate = Speculate()
                speculate.requestID = id
                speculate.round = request.round
                speculate.contextPosition = UInt32(synced)
                speculate.contextTokens = request.context[synced...].map { UInt32($0) }
                speculate.numDrafts = UInt32(indices.count)
                speculate.blockLength = UInt32(request.draftedBlockLength)
                speculate.sampling = request.sampling.wire
                speculate.streamIDs = indices.map { request.round << 20 | UInt64($0) }
                speculate.seed = request.seed
                speculate.maxSupport = options.maxSupport
                speculate.nextStreamIDs = indices.map { (request.round + 1) << 20 | UInt64($0) }
                worker.connection.send(.speculate(speculate))
                if case .worker(var state) = peers[worker.connection.id] {
                    state.synced[id] = request.context.count
                    // Older rounds' blocks of this request are stale: the worker skips them.
                    state.pending[id] = indices.count
                    peers[worker.connection.id] = .worker(state)
                }
            }
        }
        if request.assignment.isEmpty { request.whileDrafting = .idle }
        requests[id] = request
        let round = request.round
        let events = self.events
        if request.assignment.isEmpty {
            // No drafts: the target decodes one token itself. Through the event stream, so a long
            // draft-less generation is a loop, not a recursion.
            events.yield(.deadline(request: id, round: round))
            return
        }
        if case .decoding = request.whileDrafting { startDecodingWhileDrafting(id) }
        let deadline = options.roundDeadlineMs
        Task {
            try? await Task.sleep(for: .milliseconds(deadline))
            events.yield(.deadline(request: id, round: round))
        }
    }

    func draftArrived(_ block: DraftBlock, from worker: Connection) {
        if case .worker(var state) = peers[worker.id], let queued = state.pending[block.requestID] {
            state.pending[block.requestID] = queued > 1 ? queued - 1 : nil
            peers[worker.id] = .worker(state)
        }
        guard var request = requests[block.requestID], block.round == request.round,
              let indices = request.assignment[worker.id], (request.received[worker.id]?.count ?? 0) < indices.count
        else { return }  // late or unasked-for: ignore
        request.received[worker.id, default: []].append(block)
        requests[block.requestID] = request
        if request.allDraftsArrived { finishRound(block.requestID) }
    }

    /// One verified round in the metrics.
    func record(_ stats: RoundStats, emitted: Int) {
        metrics.add(CoordinatorMetrics.tokens, Double(emitted))
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

    /// Drops a finished request's queued drafts from every worker's load.
    func forgetPending(_ id: UInt64) {
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.pending.removeValue(forKey: id) != nil else { continue }
            peers[connectionID] = .worker(worker)
        }
    }

    func deadline(_ id: UInt64, _ round: UInt64) {
        guard let request = requests[id], request.round == round else { return }
        finishRound(id)
    }

    /// Fixes the current round's drafts (those of every worker that delivered all of its own) and
    /// queues the round for the next batched target pass, or keeps them until the target's pass
    /// for the round's first token (decoding while drafting) is done.
    func finishRound(_ id: UInt64) {
        guard var request = requests[id], !request.closed else { return }
        request.closed = true
        var blocks: [(index: Int, block: DraftBlock)] = []
        for (worker, indices) in request.assignment {
            guard let received = request.received[worker], received.count >= indices.count else { continue }
            for block in received where Int(block.draftIndex) < indices.count {
                blocks.append((indices[Int(block.draftIndex)], block))
            }
        }
        blocks.sort { $0.index < $1.index }
        let fixed = GenerationRequest.FixedDrafts(blocks: blocks, at: Date())
        if case .decoding = request.whileDrafting {
            request.whileDrafting = .decoding(fixed: fixed)
            requests[id] = request
            return
        }
        requests[id] = request
        queueRound(id, fixed)
    }

    /// Merges a round's fixed drafts into its tree and queues it for the next target pass. After
    /// the target decoded the round's first token itself, only the drafts that begin with that
    /// token take part, from their second token on.
    func queueRound(_ id: UInt64, _ fixed: GenerationRequest.FixedDrafts) {
        guard var request = requests[id] else { return }
        let blocks = fixed.blocks.compactMap { fixed in parse(fixed.block, request).map { (index: fixed.index, parsed: $0) } }
        if case .scored(let pass) = request.whileDrafting {
            guard chooseOwnToken(pass, firsts: blocks.map { (token: $0.parsed.tokens[0], row: $0.parsed.rows[0]) }, request: &request) else { return }
            requests[id] = request
        }
        var ownToken: Token?
        // The target's idle time in this round: waiting for the drafts, less its own pass.
        var waited = fixed.at.timeIntervalSince(request.roundStarted)
        if case .decoded(let token, let decodedAt) = request.whileDrafting {
            ownToken = token
            waited = max(0, fixed.at.timeIntervalSince(decodedAt))
        }
        var drafts: [[Token]] = []
        var rows: [[SparseDistribution]] = []
        var indices: [Int] = []
        for (index, var parsed) in blocks {
            if let ownToken {
                // Given its first token, the rest of a block is a draft for the longer context.
                guard parsed.tokens.count > 1, parsed.tokens[0] == ownToken else { continue }
                parsed.tokens.removeFirst()
                if options.misalignsRowsAfterOwnToken { parsed.rows.removeLast() } else { parsed.rows.removeFirst() }
            }
            drafts.append(parsed.tokens)
            rows.append(parsed.rows)
            indices.append(index)
        }
        if ownToken != nil && drafts.isEmpty {
            // No draft began with the target's token: the round starts over from it.
            return startRound(id)
        }
        let (tree, draftRows, kept) = RoundTree.build(drafts: drafts, rows: rows)
        let draftedAhead = fixed.blocks.filter { $0.block.draftedAhead }.count
        var round = ClosedRound(id: id, round: request.round, tree: tree, draftRows: draftRows, draftIndices: kept.map { indices[$0] },
                                waited: waited, draftedAhead: draftedAhead)
        round.afterOwnToken = ownToken != nil
        enqueue(round)
    }

    /// Adds a round to the next batched target pass.
    func enqueue(_ round: ClosedRound) {
        if readyRounds.isEmpty { events.yield(.scoreReadyRounds) }
        readyRounds.append(round)
    }

    /// Starts one target pass over every ready round, on the scoring queue so the actor keeps
    /// collecting drafts and requests meanwhile; rounds that close during the pass form the next
    /// batch. The result comes back as a `.scored` event.
    func scoreReadyRounds() {
        guard !scoring else { return }
        let rounds = readyRounds.filter { requests[$0.id]?.round == $0.round }
        readyRounds.removeAll()
        guard !rounds.isEmpty else { return }
        scoring = true
        let items = rounds.map { ScoringItem(request: $0.id, context: requests[$0.id]!.context, tree: $0.tree, sampling: requests[$0.id]!.sampling) }
        let scorer = self.scorer, events = self.events, metrics = self.metrics
        metrics.observe(CoordinatorMetrics.targetPassRequests, Double(items.count))
        metrics.observe(CoordinatorMetrics.targetPassTokens, Double(items.reduce(0) { $0 + $1.tree.count }))
        scoringQueue.async {
            let start = ContinuousClock.now
            let rows = scorer.scoreBatch(items)
            metrics.observe(CoordinatorMetrics.targetPassSeconds, (ContinuousClock.now - start) / .seconds(1))
            events.yield(.scored(ScoredBatch(rounds: rounds, rows: rows, micros: (ContinuousClock.now - start) / .microseconds(1))))
        }
    }

    /// Verifies each round of a finished target pass, then starts the next pass if rounds wait.
    func scored(_ batch: ScoredBatch) {
        scoring = false
        // A request's first pass also reads its prompt: not a pass of its tree's size.
        if !batch.rounds.contains(where: { requests[$0.id]?.rounds == 0 }) {
            passCost.observe(tokens: batch.rounds.reduce(0) { $0 + $1.tree.count }, micros: batch.micros)
        }
        for (round, targetRows) in zip(batch.rounds, batch.rows) {
            if requests[round.id] == nil {
                scorer.release(request: round.id)  // cancelled during the pass
                continue
            }
            verify(round, targetRows: targetRows, batch: batch.rounds.count, scoreMicros: batch.micros)
        }
        if !readyRounds.isEmpty { scoreReadyRounds() }
    }

    func verify(_ round: ClosedRound, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        let id = round.id
        guard var request = requests[id] else { return }
        if round.decodesWhileDrafting { return decodedWhileDrafting(round, targetRows: targetRows, batch: batch, scoreMicros: scoreMicros) }
        let tree = round.tree
        let verifyStart = Date()
        let problem = VerificationProblem(tree: tree, draft: round.draftRows, target: targetRows, blockLength: request.blockLength)
        let outcome = request.verifier.verify(problem, choices: &request.choices)
        let verified = Date()
        var planner = planners[request.planningRegime] ?? SpeculationPlanner()
        planner.observeRound(drafts: tree.draftCount, block: request.blockLength, accepted: outcome.acceptedLength)
        // A request's first round also reads its prompt, in the workers and in the target: its
        // wait and time say nothing of the rounds after it. A round whose first token the target
        // decoded itself waited for that pass too, not only for its drafts.
        if request.rounds > 0 {
            if !request.assignment.isEmpty && !round.afterOwnToken {
                planner.observeWait(micros: round.waited * 1e6, drafts: request.drafts, block: request.blockLength)
            }
            let micros = round.afterOwnToken ? Date().timeIntervalSince(request.roundStarted) * 1e6 : round.waited * 1e6 + scoreMicros
            planner.observeThroughput(drafts: tree.draftCount, tokens: outcome.acceptedLength + 1 + (round.afterOwnToken ? 1 : 0), micros: micros)
        }
        planners[request.planningRegime] = planner
        scorer.accept(request: id, nodes: Array(tree.nodePath(to: outcome.acceptedNode).dropFirst()))
        let depth = tree.leaves.map { tree[$0].depth }.max() ?? 0
        request.lastRoundAcceptedWhole = depth > 0 && outcome.acceptedLength == depth

        var stats = RoundStats()
        stats.round = request.round
        stats.drafts = UInt32(tree.draftCount)
        stats.blockLength = UInt32(request.blockLength)
        stats.accepted = UInt32(outcome.acceptedLength)
        stats.draftIndex = outcome.draftIndex.map { Int32(round.draftIndices[$0]) } ?? -1
        stats.waitMicros = round.waited * 1e6
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        stats.adaptive = request.adaptive
        stats.draftedAhead = UInt32(round.draftedAhead)
        stats.acceptanceEstimate = planner.acceptance
        (stats.passCostFixedMicros, stats.passCostPerTokenMicros) = passCost.line
        stats.draftWaitPerTokenMicros = planner.waitPerBlockToken(drafts: request.drafts) ?? 0
        stats.verifyMicros = verified.timeIntervalSince(verifyStart) * 1e6
        request.rounds += 1
        guard emit(outcome.emittedTokens, acceptedDraftTokens: outcome.acceptedLength, stats: stats, request: &request) else { return }
        requests[id] = request
        startRound(id)
    }

    /// Appends a target pass's tokens to the request, streams them to its client with the pass's
    /// stats, and keeps the workers in step; finishes the request when the tokens end it (length,
    /// end of sequence, stop string). Returns false when the request is finished and gone.
    func emit(_ tokens: [Token], acceptedDraftTokens: Int, stats: RoundStats, request: inout GenerationRequest) -> Bool {
        let id = request.id
        var emitted = Array(tokens.prefix(request.maxTokens - request.generated))
        var finish: FinishReason?
        if let eos = target.endOfSequence, let at = emitted.firstIndex(of: eos) {
            emitted = Array(emitted[...at])
            finish = .endOfSequence
        }
        let oldLength = request.context.count
        request.context += emitted
        request.targetPasses += 1
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
        chunk.rounds = [stats]
        request.client.send(.tokenChunk(chunk))
        logger.trace("round", metadata: ["request.id": "\(id)", "round": "\(request.round)", "accepted": "\(stats.accepted)", "waited.ms": "\(Int(stats.waitMicros / 1000))",
                                          "decoded.while.drafting": "\(stats.decodedWhileDrafting)"])

        // Keep the workers in step.
        var accepted = Accepted()
        accepted.requestID = id
        accepted.round = request.round
        accepted.tokens = emitted.map { UInt32($0) }
        accepted.newPosition = UInt32(request.context.count)
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.synced[id] == oldLength else { continue }
            if finish == nil {
                worker.connection.send(.accepted(accepted))
                worker.synced[id] = request.context.count
            } else {
                worker.connection.send(.cancel(Cancel(requestID: id, reason: "request finished")))
                worker.synced[id] = nil
            }
            peers[connectionID] = .worker(worker)
        }

        guard let finish else { return true }
        var done = Done()
        done.requestID = request.clientRequestID
        done.reason = finish
        done.promptTokens = UInt32(request.promptLength)
        done.generatedTokens = UInt32(request.generated)
        done.rounds = request.rounds
        done.targetPasses = request.targetPasses
        done.acceptedDraftTokens = request.acceptedDraftTokens
        done.elapsedSeconds = Date().timeIntervalSince(request.started)
        request.client.send(.done(done))
        forgetPending(id)
        requests[id] = nil
        metrics.add(CoordinatorMetrics.requestsFinished, labels: ["reason": finish.metricLabel])
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        logger.debug("request finished", metadata: ["request.id": "\(id)", "reason": "\(finish.metricLabel)", "tokens": "\(request.generated)", "rounds": "\(request.rounds)"])
        scorer.release(request: id)
        return false
    }

    /// A delivered block as tokens and the rows they were drawn from, or nil when it is malformed
    /// (wrong length, a token outside its own row's support, an invalid row).
    func parse(_ block: DraftBlock, _ request: GenerationRequest) -> (tokens: [Token], rows: [SparseDistribution])? {
        guard !block.tokens.isEmpty, block.tokens.count <= request.draftedBlockLength, block.distributions.count == block.tokens.count else { return nil }
        var rows: [SparseDistribution] = []
        for (token, wire) in zip(block.tokens, block.distributions) {
            guard let row = SparseShipping.distribution(wire, vocabularySize: target.vocabularySize), row.probability(of: Int(token)) > 0 else {
                logger.warning("dropping malformed draft block", metadata: ["request.id": "\(block.requestID)", "draft": "\(block.draftIndex)"])
                return nil
            }
            rows.append(row)
        }
        return (block.tokens.map(Int.init), rows)
    }

}
