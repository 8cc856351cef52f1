import SpeculaCore
package import SpeculaNet

/// A worker's drafting state for every request it drafts for, with no I/O or threads: the
/// accepted context of each request, and the drafts of its current round. `Speculate`, `Accepted`
/// and `Cancel` change it; `step` draws the next token of every draft of a request that can grow
/// and returns the `DraftToken`s to send. `DraftWorker` runs it on its drafting queue behind a
/// connection; `LocalGenerator` runs it in-process.
///
/// A draft is a stream: it keeps growing, a lockstep step at a time (`Drafter.step`), as long as
/// the tokens the coordinator accepts agree with it, up to the lookahead it was asked for past
/// the accepted context; a draft that disagrees with an accepted token stops, and the next
/// `Speculate` starts new ones.
package struct DraftSession {
    private let drafter: Drafter
    private let maxDrafts: Int
    private let maxLookahead: Int
    private let metrics: MetricsRegistry
    private let nodeID: String
    /// The accepted context of each request.
    private var contexts: [UInt64: [Token]] = [:]
    /// The drafts of each request's current round.
    private var rounds: [UInt64: DraftRound] = [:]

    /// One `Speculate`'s drafts.
    private struct DraftRound {
        let round: UInt64
        let sampling: SamplingParameters
        let maxSupport: Int
        /// How far past the accepted context a draft may run.
        let lookahead: Int
        var drafts: [Draft]
    }

    /// One draft stream: its tokens from its base on.
    private struct Draft {
        var choices: StreamChoices
        /// Context position of its first token: the round's base, or where it last renewed.
        var base: Int
        var tokens: [Token] = []
        var alive = true
        /// How often it renewed itself (a model-free drafter's draft, `Drafter.renews`).
        var generation: UInt32 = 0

        /// Starts again from the accepted context (`position`): a model-free draft that
        /// disagreed with the context, or had nothing to propose, proposes afresh.
        mutating func renew(at position: Int) {
            (base, tokens, alive) = (position, [], true)
            generation += 1
        }

        /// It disagreed with the accepted context (`position` tokens long): a model-free draft
        /// (`renews`) starts again from there, any other ends.
        mutating func disagreed(at position: Int, renews: Bool) {
            if renews { renew(at: position) } else { alive = false }
        }
    }

    /// `maxDrafts` and `maxLookahead` bound what a `Speculate` asks; the drafter's own limits
    /// (`Drafter.maxDrafts`, `maxLength`) bound them further.
    package init(drafter: Drafter, maxDrafts: Int, maxLookahead: Int, metrics: MetricsRegistry, nodeID: String) {
        (self.drafter, self.metrics, self.nodeID) = (drafter, metrics, nodeID)
        self.maxDrafts = min(maxDrafts, drafter.maxDrafts ?? maxDrafts)
        self.maxLookahead = min(maxLookahead, drafter.maxLength ?? maxLookahead)
        WorkerMetrics.declare(in: metrics)
    }

    /// Takes a round's context and, unless `stale` (a newer round of the request has arrived) or
    /// older than the round it drafts, starts its drafts. Returns an error for the coordinator
    /// when the worker lacks the context the message assumes.
    package mutating func begin(_ request: Speculate, stale: Bool) -> ErrorMessage? {
        let id = request.requestID
        var context = contexts[id] ?? []
        let position = Int(request.contextPosition)
        guard context.count >= position else {
            contexts[id] = nil
            return ErrorMessage(code: .badRequest, message: "worker has \(context.count) context tokens, Speculate assumes \(position)", requestID: id)
        }
        context = Array(context.prefix(position)) + request.contextTokens.map(Int.init)
        contexts[id] = context
        updateGauge()
        // Keep the context in step, but do not draft for a round the coordinator has moved past.
        guard (rounds[id]?.round ?? 0) < request.round, !stale else {
            metrics.add(WorkerMetrics.staleSkipped)
            return nil
        }
        let count = min(Int(request.numDrafts), request.streamIDs.count, maxDrafts)
        rounds[id] = DraftRound(
            round: request.round, sampling: SamplingParameters(wire: request.sampling), maxSupport: Int(request.maxSupport),
            lookahead: min(Int(request.lookahead), maxLookahead),
            drafts: request.streamIDs.prefix(count).map { Draft(choices: StreamChoices(RandomStream(seed: request.seed, stream: $0)), base: context.count) })
        metrics.add(WorkerMetrics.rounds)
        return nil
    }

    /// Advances a request's context by the tokens the coordinator accepted and stops the drafts
    /// that disagree with them; the others may now run further ahead. Returns an error when the
    /// worker is out of step (a message was lost): the coordinator then resends the context.
    package mutating func follow(_ accepted: Accepted) -> ErrorMessage? {
        let id = accepted.requestID
        guard var context = contexts[id], context.count + accepted.tokens.count == Int(accepted.newPosition) else {
            (contexts[id], rounds[id]) = (nil, nil)
            return ErrorMessage(code: .badRequest, message: "worker lost the context of request \(id); send it whole", requestID: id)
        }
        context += accepted.tokens.map(Int.init)
        contexts[id] = context
        guard var round = rounds[id] else { return nil }
        for j in round.drafts.indices {
            let draft = round.drafts[j]
            let agrees = DraftStream.agrees(draft.tokens, base: draft.base, with: context)
            if !agrees {
                round.drafts[j].disagreed(at: context.count, renews: drafter.renews)
            } else if drafter.renews, !draft.alive {
                round.drafts[j].renew(at: context.count)  // it had nothing to propose; perhaps now it has
            }
        }
        rounds[id] = round
        return nil
    }

    /// Forgets a request (its context, as far as it was accepted, is what a drafter that learns
    /// from earlier requests learns).
    package mutating func cancel(_ id: UInt64) {
        if let context = contexts[id] { drafter.learn(context) }
        (contexts[id], rounds[id]) = (nil, nil)
        updateGauge()
    }

    /// Forgets everything (the connection to the coordinator closed).
    package mutating func reset() {
        contexts.removeAll()
        rounds.removeAll()
    }

    /// The round a request's drafts belong to, if it has one.
    package func round(of id: UInt64) -> UInt64? { rounds[id]?.round }

    /// One lockstep token for every draft of the request that is alive, not ended and within its
    /// lookahead: the blocks to send, one token each, or nil when no draft can grow (until the
    /// next `Accepted` or `Speculate`). A model-free drafter, whose proposals cost nothing, drafts
    /// as far as it can at once and sends each draft's tokens as one block.
    package mutating func step(_ id: UInt64) -> [DraftToken]? {
        guard drafter.renews else { return stepOnce(id) }
        guard var blocks = stepOnce(id) else { return nil }
        while let more = stepOnce(id) {
            for block in more {
                if let last = blocks.lastIndex(where: { $0.draftIndex == block.draftIndex }), !blocks[last].ended, !block.ended,
                   blocks[last].generation == block.generation,
                   Int(blocks[last].basePosition) + blocks[last].tokens.count == Int(block.basePosition) {
                    blocks[last].tokens += block.tokens
                    blocks[last].distributions += block.distributions
                } else {
                    blocks.append(block)
                }
            }
        }
        return blocks
    }

    private mutating func stepOnce(_ id: UInt64) -> [DraftToken]? {
        guard var round = rounds[id], let context = contexts[id] else { return nil }
        let growing = round.drafts.indices.filter { j in
            let draft = round.drafts[j]
            let ended = draft.tokens.last.map { $0 == drafter.endOfSequence } ?? false
            return draft.alive && !ended && draft.base + draft.tokens.count - context.count < round.lookahead
        }
        guard !growing.isEmpty else { return nil }
        let started = ContinuousClock.now
        var choices = growing.map { round.drafts[$0].choices }
        let drawn = drafter.step(after: growing.map { Array(context.prefix(round.drafts[$0].base)) + round.drafts[$0].tokens }, sampling: round.sampling,
                                 maxSupport: round.maxSupport, choices: &choices)
        metrics.observe(WorkerMetrics.draftSeconds, (ContinuousClock.now - started) / .seconds(1))
        metrics.add(WorkerMetrics.tokens, Double(growing.count))
        var blocks: [DraftToken] = []
        for (i, j) in growing.enumerated() {
            round.drafts[j].choices = choices[i]
            var block = DraftToken()
            block.requestID = id
            block.round = round.round
            block.basePosition = UInt32(round.drafts[j].base + round.drafts[j].tokens.count)
            block.draftIndex = UInt32(j)
            block.generation = round.drafts[j].generation
            guard let drawn = drawn[i] else {
                // A model-free drafter with nothing to propose: the draft ends, and says so.
                round.drafts[j].alive = false
                block.ended = true
                blocks.append(block)
                continue
            }
            round.drafts[j].tokens.append(drawn.token)
            block.tokens = [UInt32(drawn.token)]
            block.distributions = [drawn.row]
            blocks.append(block)
            // A draft behind the accepted context learns only now whether it agrees with it.
            if !DraftStream.agrees(round.drafts[j].tokens, base: round.drafts[j].base, with: context) {
                round.drafts[j].disagreed(at: context.count, renews: drafter.renews)
            }
        }
        rounds[id] = round
        return blocks
    }

    private func updateGauge() {
        metrics.set(WorkerMetrics.requests, Double(contexts.count), labels: ["worker": nodeID])
    }
}
