package import SpeculaCore
package import SpeculaNet

/// The one definition of the sparse draft distribution (design.md, "Sparse distributions"):
/// truncate to the `maxSupport` most likely tokens, round to the `Float`s that go on the wire, and
/// normalise those exact values. The worker samples from this distribution and the coordinator
/// rebuilds the same one from the wire, bit for bit, so the verifier sees exactly the law the
/// draft token was drawn from.
package enum SparseShipping {
    /// The shipped form of a transformed draft row.
    package static func ship(_ row: DenseDistribution, maxSupport: Int) -> WireSparseDistribution {
        var entries: [(Token, Double)] = []
        row.forEachOutcome { entries.append(($0, $1)) }
        if maxSupport > 0 && entries.count > maxSupport {
            entries.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            entries.removeLast(entries.count - maxSupport)
        }
        return WireSparseDistribution(tokenIDs: entries.map { UInt32($0.0) }, probabilities: entries.map { Float($0.1) })
    }

    /// The distribution a shipped row stands for (what both sides sample / verify with), or nil
    /// when the row is not a valid distribution over `vocabularySize` tokens.
    package static func distribution(_ wire: WireSparseDistribution, vocabularySize: Int) -> SparseDistribution? {
        guard !wire.tokenIDs.isEmpty, wire.tokenIDs.count == wire.probabilities.count,
              wire.tokenIDs.allSatisfy({ Int($0) < vocabularySize }),
              wire.probabilities.allSatisfy({ $0.isFinite && $0 >= 0 }),
              Set(wire.tokenIDs).count == wire.tokenIDs.count
        else { return nil }
        let weights = wire.probabilities.map(Double.init)
        guard weights.reduce(0, +) > 0 else { return nil }
        return SparseDistribution(tokens: wire.tokenIDs.map(Int.init), weights: weights)
    }
}
