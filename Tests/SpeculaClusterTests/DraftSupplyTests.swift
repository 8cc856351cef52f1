import SpeculaCluster
import Testing

/// How many drafts may run at once, learnt from who missed a pass waiting for drafts; and
/// whether drafting or plain batching is faster at a load, learnt from the passes' throughput.
struct DraftSupplyTests {
    /// `windows` windows of passes with `drafting` drafts of one request each running, `lagging`
    /// of them missing each pass, and `accepted` draft tokens accepted by each pass.
    static func windows(_ windows: Int, drafting: Int, lagging: Int, accepted: Int = 0, supply: inout DraftSupply) {
        for _ in 0..<(windows * DraftSupply.windowPasses) {
            supply.accepted(accepted)
            supply.passStarted(drafting: drafting, requests: drafting, lagging: lagging, missing: lagging)
        }
    }

    @Test func missesThatCostLessThanTheDraftsBringKeepEveryDraft() {
        var supply = DraftSupply()
        Self.windows(10, drafting: 16, lagging: 0, accepted: 8, supply: &supply)
        // A quarter of the drafts late at every pass, but eight draft tokens accepted per pass.
        Self.windows(3, drafting: 16, lagging: 4, accepted: 8, supply: &supply)
        #expect(supply.limit == nil)
        #expect(supply.available(drafting: 1_000) == .max)
    }

    @Test func missesThatCostMoreThanTheDraftsBringDropTheLimitToTheDraftsThatKeptUpAndItGrowsBack() {
        var supply = DraftSupply()
        Self.windows(1, drafting: 4, lagging: 3, supply: &supply)
        #expect(supply.limit == 1)
        #expect(supply.available(drafting: 0) == 1 && supply.available(drafting: 1) == 0)
        Self.windows(1, drafting: 1, lagging: 1, supply: &supply)
        #expect(supply.limit == 1, "one draft may always run")
        Self.windows(1, drafting: 1, lagging: 0, accepted: 1, supply: &supply)
        #expect(supply.limit == 2, "a window at the limit that paid adds a draft")
        Self.windows(4, drafting: 1, lagging: 0, accepted: 1, supply: &supply)
        #expect(supply.limit == 2, "windows that leave the limit unused do not grow it")
        Self.windows(1, drafting: 2, lagging: 1, supply: &supply)
        #expect(supply.limit == 1)
    }

    /// Runs epochs of passes at `running` requests, `rate(mode)` tokens per second in each mode;
    /// returns the modes of the epochs that ran.
    /// (`plainEstimate`: the cost line's estimate of plain batching, tokens per second.)
    static func epochs(_ count: Int, running: Int = 4, plainEstimate: Double = .infinity, payoff: inout DraftingPayoff,
                       rate: (DraftingPayoff.Mode) -> Double) -> [DraftingPayoff.Mode] {
        var now = ContinuousClock.now
        var modes: [DraftingPayoff.Mode] = []
        _ = payoff.passFinished(running: running, plainEstimate: plainEstimate, at: now)  // the first pass starts the clock
        for _ in 0..<count {
            let mode = payoff.mode(running: running)
            modes.append(mode)
            for _ in 0..<(payoff.settlePasses + payoff.epochPasses) {
                payoff.emitted(running)
                now += .microseconds(Int64(1e6 * Double(running) / rate(mode)))
                _ = payoff.passFinished(running: running, plainEstimate: plainEstimate, at: now)
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

    @Test func plainBatchingIsNotTriedWhereDraftingClearlyBeatsTheCostLinesEstimateOfIt() {
        var payoff = DraftingPayoff()
        let modes = Self.epochs(20, running: 1, plainEstimate: 50, payoff: &payoff) { $0 == .plain ? 50 : 90 }
        #expect(modes.allSatisfy { $0 == .drafting }, "\(modes)")
        // Drafting no longer clearly ahead: plain batching is measured.
        let closer = Self.epochs(4, running: 1, plainEstimate: 80, payoff: &payoff) { $0 == .plain ? 100 : 90 }
        #expect(closer.contains(.plain), "\(closer)")
        #expect(payoff.mode(running: 1) == .plain)
    }

    @Test func plainBatchingIsNotTriedAgainWhileDraftingClearlyBeatsItsMeasure() {
        // A GPU target at 16 requests: the cost line expects 100 tokens/s of plain batching, its
        // one measured epoch gives 90, drafting 140: no epoch more is spent on plain batching.
        var payoff = DraftingPayoff()
        let modes = Self.epochs(40, running: 16, plainEstimate: 100, payoff: &payoff) { $0 == .plain ? 90 : 110 }
        #expect(modes.filter { $0 == .plain }.count >= 2, "drafting ahead by less than the clear win: plain is tried \(modes)")
        let clear = Self.epochs(40, running: 16, plainEstimate: 100, payoff: &payoff) { $0 == .plain ? 90 : 140 }
        #expect(clear.dropFirst(2).allSatisfy { $0 == .drafting }, "\(clear)")
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
