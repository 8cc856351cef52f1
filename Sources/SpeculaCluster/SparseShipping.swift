package import SpeculaCore
package import SpeculaNet

/// The one definition of the sparse draft distribution (design.md, "Sparse distributions"):
/// truncate to the `maxSupport` most likely tokens, round to the `Float`s that go on the wire, and
/// normalise those exact values. The worker samples from this distribution and the coordinator
/// rebuilds the same one from the wire, bit for bit, so the verifier sees exactly the law the
/// draft token was drawn from.
package enum SparseShipping {
    /// The shipped form of a transformed draft row: its `maxSupport` most likely tokens (ties: the
    /// smaller id), by probability, found with a bounded min-heap in O(V log maxSupport).
    package static func ship(_ row: DenseDistribution, maxSupport: Int) -> WireSparseDistribution {
        var top = LargestEntries<Double>(capacity: maxSupport > 0 ? maxSupport : Int.max)
        row.forEachOutcome { top.offer(score: $1, id: $0) }
        let entries = top.sortedDescending()
        return WireSparseDistribution(tokenIDs: entries.map { UInt32($0.id) }, probabilities: entries.map { Float($0.score) })
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
