package import SpeculaCore
package import SpeculaNet

/// Drafts one block from a model exactly as a worker ships it: each token is sampled from the
/// sparse row that goes on the wire (`SparseShipping`), on the random stream the coordinator
/// named for the draft. Shared by the draft worker and the in-process generator.
package struct Drafter: Sendable {
    package let model: ClusterModel
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

    package init(model: ClusterModel) { self.model = model }

    /// One block per stream after `context`, drafted in lockstep (`step`). A block has up to
    /// `length` tokens (fewer if the end-of-sequence token is drawn), each with the shipped row
    /// behind it. A block depends only on the context,
    /// its stream and the model, never on the other blocks, and is a prefix of any longer block
    /// drafted from the same context and stream.
    package func blocks(after context: [Token], length: Int, sampling: SamplingParameters, maxSupport: Int,
                        streams: [RandomStream]) -> [(tokens: [Token], rows: [WireSparseDistribution])] {
        var choices = streams.map(StreamChoices.init)
        var blocks = streams.map { _ in (tokens: [Token](), rows: [WireSparseDistribution]()) }
        var open = Array(streams.indices)
        while let first = open.first, blocks[first].tokens.count < length {
            var openChoices = open.map { choices[$0] }
            let drawn = step(after: open.map { context + blocks[$0].tokens }, sampling: sampling, maxSupport: maxSupport, choices: &openChoices)
            for (i, j) in open.enumerated() {
                choices[j] = openChoices[i]
                blocks[j].tokens.append(drawn[i].token)
                blocks[j].rows.append(drawn[i].row)
            }
            open.removeAll { blocks[$0].tokens.last == model.endOfSequence }
        }
        return blocks
    }

    /// One token after each of `contexts`, all in one step (one batched pass for an engine): each
    /// drawn on its own stream from the sparse row that goes on the wire, returned with that row.
    package func step(after contexts: [[Token]], sampling: SamplingParameters, maxSupport: Int,
                      choices: inout [StreamChoices]) -> [(token: Token, row: WireSparseDistribution)] {
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

    /// Draft tokens per second on this machine: one untimed warm-up block, then 8 timed tokens.
    package func measureTokensPerSecond() -> Double {
        let context = [0, 1, 2, 3].map { $0 % model.vocabularySize }
        _ = blocks(after: context, length: 2, sampling: SamplingParameters(), maxSupport: 64, streams: [RandomStream(seed: 1)])
        let start = ContinuousClock.now
        let drafted = blocks(after: context + [4 % model.vocabularySize], length: 8, sampling: SamplingParameters(), maxSupport: 64, streams: [RandomStream(seed: 2)])
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        return Double(drafted[0].tokens.count) / max(seconds, 1e-6)
    }
}
