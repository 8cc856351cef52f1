import SpeculaCluster
import Testing

/// The order of a mixed round's pools and which of them pay, from the accepted text each covered.
struct PoolAcceptanceTests {
    static let greedy = PoolAcceptance.Regime(verifier: "greedy", temperatureTenths: -1)
    static let sampled = PoolAcceptance.Regime(verifier: "mixed-block", temperatureTenths: 7)
    static let pools: [String: [UInt64]] = ["model": [1, 2], "lookup": [3]]

    @Test func unmeasuredPoolsGoByTheirNumberOfWorkers() {
        #expect(PoolAcceptance().ordered(Self.pools, in: Self.greedy).map(\.fingerprint) == ["model", "lookup"])
    }

    @Test func thePoolThatCoversMoreGoesFirstInItsRegimeOnly() {
        var acceptance = PoolAcceptance()
        for _ in 0..<20 {
            acceptance.observe(pool: "model", in: Self.greedy, covered: 1)
            acceptance.observe(pool: "lookup", in: Self.greedy, covered: 4)
        }
        #expect(acceptance.ordered(Self.pools, in: Self.greedy).map(\.fingerprint) == ["lookup", "model"])
        #expect(acceptance.ordered(Self.pools, in: Self.sampled).map(\.fingerprint) == ["model", "lookup"], "another regime is unmeasured")
    }

    @Test func aPoolThatCoversNextToNothingStopsPayingOnceMeasured() {
        var acceptance = PoolAcceptance()
        for pass in 1...PoolAcceptance.measuredPasses {
            #expect(acceptance.pays("lookup", in: Self.sampled), "measured over \(pass - 1) passes only")
            acceptance.observe(pool: "lookup", in: Self.sampled, covered: 0)
        }
        #expect(!acceptance.pays("lookup", in: Self.sampled))
        #expect(acceptance.pays("lookup", in: Self.greedy))
        for _ in 0..<30 { acceptance.observe(pool: "lookup", in: Self.sampled, covered: 2) }
        #expect(acceptance.pays("lookup", in: Self.sampled), "covering again, it pays again")
    }
}
