import SpeculaCluster
import Testing

/// The coordinator's choice of K and γ.
struct SpeculationPlannerTests {
    @Test func passCostLineIsRecoveredFromObservations() {
        var cost = PassCostLine()
        for tokens in [1, 4, 9, 16, 33] { cost.observe(tokens: tokens, micros: 20_000 + 1_000 * Double(tokens)) }
        #expect(abs(cost.line.fixed - 20_000) < 1e-6)
        #expect(abs(cost.line.perToken - 1_000) < 1e-9)
    }

    @Test func aFlatPassCostBuysMoreDraftTokensThanASteepOne() {
        let planner = SpeculationPlanner()
        var flat = PassCostLine(), steep = PassCostLine()
        for tokens in [1, 8, 32] {
            flat.observe(tokens: tokens, micros: 10_000)  // GPU-like
            steep.observe(tokens: tokens, micros: 1_000 * Double(tokens) + 100)  // compute-bound CPU
        }
        let a = planner.choose(maxDrafts: 4, maxBlock: 8, passCost: flat.line), b = planner.choose(maxDrafts: 4, maxBlock: 8, passCost: steep.line)
        #expect(a.drafts * a.block > b.drafts * b.block, "flat \(a), steep \(b)")
    }

    @Test func expectedTokensGrowWithDraftsAndBlockLength() {
        let planner = SpeculationPlanner()
        #expect(planner.expectedTokens(drafts: 2, block: 4) > planner.expectedTokens(drafts: 1, block: 4))
        #expect(planner.expectedTokens(drafts: 2, block: 4) > planner.expectedTokens(drafts: 2, block: 2))
        #expect(planner.expectedTokens(drafts: 1, block: 0) == 1)
    }

    @Test func lowAcceptanceLowersTheEstimate() {
        var planner = SpeculationPlanner()
        let before = planner.acceptance
        for _ in 0..<20 { planner.observeRound(drafts: 2, block: 4, accepted: 0) }
        #expect(planner.acceptance < before / 2)
    }

    @Test func slowDraftsGetShorterBlocksThanFastOnes() {
        var fast = SpeculationPlanner(), slow = SpeculationPlanner(), cost = PassCostLine()
        // A CPU target: 90 ms per pass plus 15 ms per token.
        for tokens in [1, 5, 9] { cost.observe(tokens: tokens, micros: 90_000 + 15_000 * Double(tokens)) }
        for _ in 0..<10 {
            fast.observeRound(drafts: 1, block: 4, accepted: 3)
            slow.observeRound(drafts: 1, block: 4, accepted: 3)
            fast.observeWait(micros: 4 * 1_000, drafts: 1, block: 4)  // 1 ms per draft token
            slow.observeWait(micros: 4 * 60_000, drafts: 1, block: 4)  // 60 ms per draft token
        }
        #expect(abs(slow.waitPerBlockToken(drafts: 1)! - 60_000) < 1e-6)
        let a = fast.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line, announcedMicrosPerToken: 1_000)
        let b = slow.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line, announcedMicrosPerToken: 60_000)
        #expect(a.block > b.block, "fast \(a), slow \(b)")
        // Before any wait is observed, the workers' announced speed stands in.
        let fresh = SpeculationPlanner()
        #expect(fresh.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line, announcedMicrosPerToken: 1e6).block
                < fresh.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line, announcedMicrosPerToken: 0).block)
    }

    @Test func draftsThatShareHardwareAreLearnedPerDraftCount() {
        // Drafts that do not batch (a compute-bound draft model): two drafts take twice one
        // draft's time, which the batching prior does not expect; once observed, K = 1 wins.
        var planner = SpeculationPlanner(), cost = PassCostLine()
        for tokens in [1, 5, 9] { cost.observe(tokens: tokens, micros: 100_000 + 20_000 * Double(tokens)) }
        for _ in 0..<10 { planner.observeRound(drafts: 1, block: 4, accepted: 4) }
        planner.observeWait(micros: 2 * 90_000, drafts: 2, block: 2)
        planner.observeWait(micros: 4 * 45_000, drafts: 1, block: 4)
        #expect(planner.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line, announcedMicrosPerToken: 45_000).drafts == 1)
    }

    @Test func draftsThatFailTogetherAreLearned() {
        var planner = SpeculationPlanner(), cost = PassCostLine()
        for tokens in [1, 5, 9] { cost.observe(tokens: tokens, micros: 50_000 + 1_000 * Double(tokens)) }
        for _ in 0..<30 { planner.observeRound(drafts: 1, block: 4, accepted: 2) }
        for k in 1...4 { planner.observeWait(micros: 4 * 5_000, drafts: k, block: 4) }
        #expect(planner.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line).drafts == 1, "one draft is observed first")
        for _ in 0..<4 { planner.observeThroughput(drafts: 1, tokens: 3, micros: 120_000) }
        // One draft was observed: two are the next candidate, expected (as if independent) to
        // accept far more; three wait until two have been observed.
        #expect(planner.expectedTokens(drafts: 2, block: 4) > planner.expectedTokens(drafts: 1, block: 4) + 0.5)
        #expect(planner.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line).drafts == 2)
        // Two drafts that accept and deliver no more than one: one draft again, and no more tries.
        for _ in 0..<40 { planner.observeRound(drafts: 2, block: 4, accepted: 2) }
        for _ in 0..<4 { planner.observeThroughput(drafts: 2, tokens: 3, micros: 150_000) }
        #expect(abs(planner.expectedTokens(drafts: 2, block: 4) - planner.expectedTokens(drafts: 1, block: 4)) < 0.1)
        #expect(planner.choose(maxDrafts: 4, maxBlock: 8, passCost: cost.line).drafts == 1)
    }

    @Test func observedThroughputSettlesTheNumberOfDrafts() {
        var planner = SpeculationPlanner(), cost = PassCostLine()
        for tokens in [1, 5, 9] { cost.observe(tokens: tokens, micros: 10_000) }  // GPU-like
        for _ in 0..<30 { planner.observeRound(drafts: 1, block: 4, accepted: 2) }
        for k in 1...2 { planner.observeWait(micros: 4 * 1_000, drafts: k, block: 4) }
        for _ in 0..<30 { planner.observeRound(drafts: 2, block: 4, accepted: 3) }
        for _ in 0..<4 { planner.observeThroughput(drafts: 1, tokens: 3, micros: 20_000) }
        // By the model two drafts win; the rounds say one draft delivered more tokens per second.
        #expect(planner.choose(maxDrafts: 2, maxBlock: 8, passCost: cost.line).drafts == 2)
        for _ in 0..<3 { planner.observeThroughput(drafts: 2, tokens: 4, micros: 40_000) }
        #expect(planner.choose(maxDrafts: 2, maxBlock: 8, passCost: cost.line).drafts == 2, "three rounds are not yet trusted")
        planner.observeThroughput(drafts: 2, tokens: 4, micros: 40_000)
        #expect(planner.choose(maxDrafts: 2, maxBlock: 8, passCost: cost.line).drafts == 1)
    }
}
