import SpeculaCluster
import SpeculaCore
import SpeculaNet
import Testing

/// The sparse rows workers ship.
struct SparseShippingTests {
    @Test func shipsTheMostLikelyTokensInOrderWithTiesToTheSmallerID() {
        let row = DenseDistribution(weights: [0.1, 0.3, 0.05, 0.3, 0.25, 0, 0.0])
        let shipped = SparseShipping.ship(row, maxSupport: 3)
        #expect(shipped.tokenIDs == [1, 3, 4])
        #expect(shipped.probabilities.map { Double($0) }.map { ($0 * 100).rounded() } == [30, 30, 25])
    }

    @Test func withoutACapTheWholeSupportIsShipped() {
        let row = DenseDistribution(weights: [0.5, 0, 0.25, 0.25])
        #expect(SparseShipping.ship(row, maxSupport: 0).tokenIDs == [0, 2, 3])
    }

    @Test func theShippedRowIsTheDistributionBothSidesUse() {
        var stream = RandomStream(seed: 5)
        let row = DenseDistribution(weights: (0..<1000).map { _ in stream.nextUnit() })
        let shipped = SparseShipping.ship(row, maxSupport: 64)
        let law = SparseShipping.distribution(shipped, vocabularySize: 1000)!
        #expect(law.count == 64)
        #expect(abs(law.probabilities.reduce(0, +) - 1) < 1e-12)
        // Every shipped token is at least as likely as every token left out.
        let cutoff = shipped.tokenIDs.map { row.probabilities[Int($0)] }.min()!
        #expect(row.probabilities.enumerated().filter { !shipped.tokenIDs.contains(UInt32($0.offset)) }.allSatisfy { $0.element <= cutoff })
    }

    @Test func malformedRowsAreRejected() {
        #expect(SparseShipping.distribution(.init(tokenIDs: [1, 1], probabilities: [0.5, 0.5]), vocabularySize: 4) == nil)
        #expect(SparseShipping.distribution(.init(tokenIDs: [9], probabilities: [1]), vocabularySize: 4) == nil)
        #expect(SparseShipping.distribution(.init(tokenIDs: [1], probabilities: [-1]), vocabularySize: 4) == nil)
        #expect(SparseShipping.distribution(.init(tokenIDs: [1, 2], probabilities: [1]), vocabularySize: 4) == nil)
    }
}
