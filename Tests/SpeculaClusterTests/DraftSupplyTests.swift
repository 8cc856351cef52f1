import SpeculaCluster
import Testing

/// How many requests may draft at once, learnt from who missed a pass waiting for drafts; and
/// whether drafting or plain batching is faster at a load, learnt from the passes' throughput.
struct DraftSupplyTests {
    @Test func withoutAMissedPassEveryRequestMayDraft() {
        var supply = DraftSupply()
        for _ in 0..<100 { supply.passStarted(drafting: 6, lagging: 0) }
        #expect(supply.limit == nil)
        #expect(supply.admits(drafting: 1_000))
    }

    @Test func aMissDropsTheLimitToTheRequestsThatKeptUpAndItGrowsBackSlowly() {
        var supply = DraftSupply()
        supply.passStarted(drafting: 4, lagging: 3)
        #expect(supply.limit == 1)
        #expect(supply.admits(drafting: 0) && !supply.admits(drafting: 1))
        supply.passStarted(drafting: 1, lagging: 1)
        #expect(supply.limit == 1, "one request may always draft")
        for _ in 1..<DraftSupply.growthPasses { supply.passStarted(drafting: 1, lagging: 0) }
        #expect(supply.limit == 1)
        supply.passStarted(drafting: 1, lagging: 0)
        #expect(supply.limit == 2, "grows after \(DraftSupply.growthPasses) passes at the limit without a miss")
        for _ in 0..<(4 * DraftSupply.growthPasses) { supply.passStarted(drafting: 1, lagging: 0) }
        #expect(supply.limit == 2, "passes that leave the limit unused do not grow it")
    }

    /// Runs epochs of passes at `running` requests, `rate(mode)` tokens per second in each mode;
    /// returns the modes of the epochs that ran.
    static func epochs(_ count: Int, running: Int = 4, payoff: inout DraftingPayoff, rate: (DraftingPayoff.Mode) -> Double) -> [DraftingPayoff.Mode] {
        var now = ContinuousClock.now
        var modes: [DraftingPayoff.Mode] = []
        _ = payoff.passFinished(running: running, at: now)  // the first pass starts the clock
        for _ in 0..<count {
            let mode = payoff.mode(running: running)
            modes.append(mode)
            for _ in 0..<(payoff.settlePasses + payoff.epochPasses) {
                payoff.emitted(running)
                now += .microseconds(Int64(1e6 * Double(running) / rate(mode)))
                _ = payoff.passFinished(running: running, at: now)
            }
        }
        return modes
    }

    @Test func plainBatchingTakesOverWhereItIsFasterAndDraftingIsTriedAgainLessAndLessOften() {
        var payoff = DraftingPayoff()
        let modes = Self.epochs(40, payoff: &payoff) { $0 == .plain ? 100 : 80 }
        #expect(Array(modes.prefix(2)) == [.drafting, .plain], "each mode measured once")
        let tries = modes.indices.dropFirst(2).filter { modes[$0] == .drafting }
        #expect(tries.count >= 2 && tries.count <= 5, "tried again at doubling intervals: epochs \(tries)")
        #expect(zip(tries, tries.dropFirst()).allSatisfy { $1 - $0 > 2 })
        #expect(payoff.mode(running: 4) == .plain)
    }

    @Test func draftingStaysWhereItIsFaster() {
        var payoff = DraftingPayoff()
        let modes = Self.epochs(40, running: 1, payoff: &payoff) { $0 == .plain ? 50 : 90 }
        #expect(modes.filter { $0 == .plain }.count <= 5, "\(modes)")
        #expect(payoff.mode(running: 1) == .drafting)
    }

    @Test func eachLoadLevelIsMeasuredApart() {
        var payoff = DraftingPayoff()
        _ = Self.epochs(10, running: 8, payoff: &payoff) { $0 == .plain ? 100 : 80 }
        _ = Self.epochs(10, running: 1, payoff: &payoff) { $0 == .plain ? 50 : 90 }
        #expect(payoff.mode(running: 7) == .plain, "5 to 8 requests: one level")
        #expect(payoff.mode(running: 1) == .drafting)
        #expect(payoff.mode(running: 2) == .drafting, "an unmeasured level drafts")
    }

    @Test func aLevelAfterTheOtherWinsBackSwitchesBack() {
        var payoff = DraftingPayoff()
        _ = Self.epochs(12, payoff: &payoff) { $0 == .plain ? 100 : 80 }
        // The pool got faster: drafting now wins when tried, and stays.
        let after = Self.epochs(40, payoff: &payoff) { $0 == .plain ? 100 : 160 }
        #expect(Array(after.suffix(10)).filter { $0 == .drafting }.count >= 8, "\(after)")
    }
}
