package import SpeculaCore
package import SpeculaNet

/// Drafts one block from a model exactly as a worker ships it: each token is sampled from the
/// sparse row that goes on the wire (`SparseShipping`), on the random stream the coordinator
/// named for the draft; or, with no model (`ModelFreeDrafter`), proposed and shipped as a point
/// mass. Shared by the draft worker and the in-process generator.
package struct Drafter: Sendable {
    /// What drafts: a model's rows, or a model-free drafter's point masses.
    package enum Source: Sendable {
        case model(ClusterModel)
        case modelFree(ModelFreeDrafter)
    }

    package let source: Source
    /// How a deliberately dishonest worker lies, for tests only; nil for the real thing.
    package var lie: Lie?

    /// Lies a test worker tells about its drafts.
    package enum Lie: Sendable {
        /// Ships a uniform row over the support instead of the one sampled from (a crude liar:
        /// the coordinator's redraw of the token from the row catches it).
        case wrongRow
        /// Knows its random stream, and ships a row whose next draw lands on `token` (the true
        /// row with the ids of `token` and of the honest draw swapped): every token agrees with
        /// its row and stream, so only an audit — an honest worker's row differs — catches it.
        case steered(toward: Token)
    }

    package init(model: ClusterModel) { self.source = .model(model) }
    package init(modelFree: ModelFreeDrafter) { self.source = .modelFree(modelFree) }

    /// The draft law's name in Hello: workers with equal fingerprints are pooled.
    package var fingerprint: String {
        switch source {
        case .model(let model): model.fingerprint
        case .modelFree(let drafter): drafter.fingerprint
        }
    }

    /// The tokenizer and vocabulary it announces; a model-free drafter works on token ids and
    /// announces none ("" and 0), which every coordinator accepts.
    package var tokenizerFingerprint: String {
        if case .model(let model) = source { return model.tokenizerFingerprint }
        return ""
    }
    package var vocabularySize: Int {
        if case .model(let model) = source { return model.vocabularySize }
        return 0
    }
    package var endOfSequence: Token? {
        if case .model(let model) = source { return model.endOfSequence }
        return nil
    }

    /// Most drafts of one round it takes (nil: no limit of its own): a model-free drafter's
    /// drafts from one context are all the same.
    package var maxDrafts: Int? {
        if case .modelFree = source { return 1 }
        return nil
    }

    /// Whether its drafts renew themselves: a model-free drafter's draft that disagrees with the
    /// accepted context, or had nothing to propose, starts again from the accepted context (a
    /// point mass is a valid draft law whatever it proposes, so no round need end for it).
    package var renews: Bool {
        if case .modelFree = source { return true }
        return false
    }

    /// Most tokens a draft of it runs past the accepted context (nil: as the coordinator asks).
    package var maxLength: Int? {
        if case .modelFree(let drafter) = source { return drafter.maxLength }
        return nil
    }

    /// A request ended with `sequence` as its context: a drafter that learns from earlier
    /// requests (suffix drafting) learns it.
    package func learn(_ sequence: [Token]) {
        if case .modelFree(let drafter) = source { drafter.learn(sequence) }
    }

    /// One block per stream after `context`, drafted in lockstep (`step`). A block has up to
    /// `length` tokens (fewer if the end-of-sequence token is drawn, or a model-free drafter has
    /// nothing to propose), each with the shipped row behind it. A block depends only on the
    /// context, its stream and the drafter, never on the other blocks, and is a prefix of any
    /// longer block drafted from the same context and stream.
    package func blocks(after context: [Token], length: Int, sampling: SamplingParameters, maxSupport: Int,
                        streams: [RandomStream]) -> [(tokens: [Token], rows: [WireSparseDistribution])] {
        var choices = streams.map(StreamChoices.init)
        var blocks = streams.map { _ in (tokens: [Token](), rows: [WireSparseDistribution]()) }
        var open = Array(streams.indices)
        while let first = open.first, blocks[first].tokens.count < length {
            var openChoices = open.map { choices[$0] }
            let drawn = step(after: open.map { context + blocks[$0].tokens }, sampling: sampling, maxSupport: maxSupport, choices: &openChoices)
            var ended: Set<Int> = []
            for (i, j) in open.enumerated() {
                choices[j] = openChoices[i]
                guard let drawn = drawn[i] else {
                    ended.insert(j)
                    continue
                }
                blocks[j].tokens.append(drawn.token)
                blocks[j].rows.append(drawn.row)
            }
            open.removeAll { ended.contains($0) || blocks[$0].tokens.last == endOfSequence }
        }
        return blocks
    }

    /// One token after each of `contexts`, all in one step (one batched pass for an engine): each
    /// drawn on its own stream from the sparse row that goes on the wire, returned with that row;
    /// nil where a model-free drafter has nothing to propose (that draft ends).
    package func step(after contexts: [[Token]], sampling: SamplingParameters, maxSupport: Int,
                      choices: inout [StreamChoices]) -> [(token: Token, row: WireSparseDistribution)?] {
        switch source {
        case .modelFree(let drafter):
            return contexts.indices.map { j in
                drafter.proposer.propose(after: contexts[j]).map { token in
                    (choices[j].draw(from: SparseDistribution.pointMass(token)), WireSparseDistribution(tokenIDs: [UInt32(token)], probabilities: [1]))
                }
            }
        case .model(let model):
            return step(model, after: contexts, sampling: sampling, maxSupport: maxSupport, choices: &choices)
        }
    }

    private func step(_ model: ClusterModel, after contexts: [[Token]], sampling: SamplingParameters, maxSupport: Int,
                      choices: inout [StreamChoices]) -> [(token: Token, row: WireSparseDistribution)?] {
        model.simulatePass(tokens: contexts.count)
        let rows = model.model.distributions(after: contexts, sampling: sampling)
        return rows.indices.map { j in
            var wire = SparseShipping.ship(rows[j], maxSupport: maxSupport)
            if case .steered(let favorite) = lie {
                var peek = choices[j]
                wire = Self.steer(wire, toward: favorite, quantile: peek.stream.nextUnit(), vocabularySize: model.vocabularySize)
            }
            let token = choices[j].draw(from: SparseShipping.distribution(wire, vocabularySize: model.vocabularySize)!)
            if case .wrongRow = lie { wire.probabilities = wire.probabilities.map { _ in 1 } }
            return (token, wire)
        }
    }

    /// `wire` with `favorite` moved into the slot that the draw `u` lands on.
    static func steer(_ wire: WireSparseDistribution, toward favorite: Token, quantile u: Double, vocabularySize: Int) -> WireSparseDistribution {
        var steered = wire
        let drawn = UInt32(SparseShipping.distribution(wire, vocabularySize: vocabularySize)!.sample(quantile: u))
        guard drawn != UInt32(favorite), let slot = wire.tokenIDs.firstIndex(of: drawn) else { return wire }
        if let other = wire.tokenIDs.firstIndex(of: UInt32(favorite)) { steered.tokenIDs.swapAt(slot, other) } else { steered.tokenIDs[slot] = UInt32(favorite) }
        return steered
    }

    /// Draft tokens per second on this machine: one untimed warm-up block, then 8 timed tokens
    /// (after a context that repeats itself, so that a model-free drafter has something to propose).
    package func measureTokensPerSecond() -> Double {
        let context = (0..<8).map { $0 % 4 % max(vocabularySize, 4) }
        _ = blocks(after: context, length: 2, sampling: SamplingParameters(), maxSupport: 64, streams: [RandomStream(seed: 1)])
        let start = ContinuousClock.now
        let drafted = blocks(after: context, length: 8, sampling: SamplingParameters(), maxSupport: 64, streams: [RandomStream(seed: 2)])
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        return Double(max(drafted[0].tokens.count, 1)) / max(seconds, 1e-6)
    }
}
