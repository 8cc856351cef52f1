package import SpeculaCore
package import SpeculaNet

/// Drafts one block from a model exactly as a worker ships it: each token is sampled from the
/// sparse row that goes on the wire (`SparseShipping`), on the random stream the coordinator
/// named for the draft. Shared by the draft worker and the in-process generator.
package struct Drafter: Sendable {
    package let model: ClusterModel
    /// Negative control for tests: ship a uniform row instead of the one sampled from.
    package var shipsWrongDistribution = false

    package init(model: ClusterModel) { self.model = model }

    /// Up to `length` tokens after `context` (fewer if the end-of-sequence token is drawn, or if
    /// `shouldStop` says so before a token) and the shipped row behind each. A block is a prefix
    /// of any longer block drafted from the same context and stream.
    package func block(after context: [Token], length: Int, sampling: SamplingParameters, maxSupport: Int, stream: RandomStream,
                       until shouldStop: () -> Bool = { false }) -> (tokens: [Token], rows: [WireSparseDistribution]) {
        var choices = StreamChoices(stream)
        var tokens: [Token] = []
        var rows: [WireSparseDistribution] = []
        var prefix = context
        while tokens.count < length, !shouldStop() {
            model.simulatePass(tokens: 1)
            let row = model.model.distribution(after: prefix, sampling: sampling)
            var wire = SparseShipping.ship(row, maxSupport: maxSupport)
            let token = choices.draw(from: SparseShipping.distribution(wire, vocabularySize: model.vocabularySize)!)
            if shipsWrongDistribution { wire.probabilities = wire.probabilities.map { _ in 1 } }
            tokens.append(token)
            rows.append(wire)
            prefix.append(token)
            if token == model.endOfSequence { break }
        }
        return (tokens, rows)
    }

    /// Draft tokens per second on this machine: one untimed warm-up block, then 8 timed tokens.
    package func measureTokensPerSecond() -> Double {
        let context = [0, 1, 2, 3].map { $0 % model.vocabularySize }
        _ = block(after: context, length: 2, sampling: SamplingParameters(), maxSupport: 64, stream: RandomStream(seed: 1))
        let start = ContinuousClock.now
        let drafted = block(after: context + [4 % model.vocabularySize], length: 8, sampling: SamplingParameters(), maxSupport: 64, stream: RandomStream(seed: 2))
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        return Double(drafted.tokens.count) / max(seconds, 1e-6)
    }
}
