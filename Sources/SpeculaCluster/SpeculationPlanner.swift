import Foundation

/// Chooses K (drafts) and γ (block length) for a round to maximise expected tokens per second,
/// from the target's measured pass cost, the measured wait for drafts, and a running estimate of
/// draft acceptance. The coordinator keeps one planner per verifier and temperature (acceptance
/// and the rounds' rates depend on both) and one pass-cost line for all.
///
/// Cost: the target pass (`PassCostLine`, B = tokens in the pass), plus the wait for drafts:
/// `w_K · γ`, where `w_K` is an exponentially weighted wait per block token observed in rounds
/// of K drafts (kept per K, because whether K drafts take about one draft's time, as when one
/// worker drafts them in lockstep, or K times it depends on the draft model and hardware; for a
/// K not yet tried, the workers' announced speed times `DraftAssignment.batchCost(K)`). Slow
/// drafts (a CPU worker beside a CPU target) thus get short blocks and few drafts, fast ones long
/// blocks.
/// Acceptance: an exponentially weighted per-token acceptance rate a_K per number of drafts K, so
/// a round is expected to emit E = 1 + Σ_{i≤γ} a_K^i tokens. For a K not yet tried, the
/// single-draft rate β stands in as if the K drafts were independent (position i accepted with
/// probability 1 − (1 − β^i)^K) — an optimistic prior: drafts of one model from one context tend
/// to fail at the same position, which the rate observed once K is tried then shows.
/// K is then settled by what rounds actually delivered: once a K has been tried a few rounds, its
/// observed tokens per second (emitted tokens over the round's wait and target pass) stand in for the
/// model's estimate, which misses effects such as how many draft tokens a pass finds already
/// there. γ is the model's best for the chosen K: with streamed drafts (`SpeculationCore+Passes`)
/// it caps the draft tokens a pass takes, and sets how far ahead the workers draft.
/// The choice depends only on past rounds, so every round still draws from the target's exact law.
package struct SpeculationPlanner {
    /// Single-draft per-token acceptance estimate.
    package private(set) var acceptance = 0.6
    /// Per-token acceptance observed in rounds of K drafts, by K.
    private var acceptanceByDrafts: [Int: Double] = [:]
    /// Wait for drafts per block token, microseconds, by the number of drafts in the round.
    private var waitPerBlockToken: [Int: Double] = [:]
    /// Observed tokens per microsecond of rounds, and how many rounds, by the number of drafts.
    private var observedRate: [Int: (rate: Double, rounds: Int)] = [:]
    /// Rounds of a K observed before their rate replaces the model's.
    private let roundsToTrust = 4
    private let smoothing = 0.1

    package init() {}

    /// A round with `drafts` drafts of `block` tokens accepted `accepted` positions.
    package mutating func observeRound(drafts: Int, block: Int, accepted: Int) {
        guard drafts > 0, block > 0 else { return }
        // Per-position rate of this round (K drafts), converted to one draft's rate.
        let attempted = min(accepted + 1, block)
        let rateK = Double(accepted) / Double(attempted)
        let rate1 = 1 - Foundation.pow(1 - min(rateK, 0.999), 1 / Double(drafts))
        let prior = acceptanceByDrafts[drafts] ?? 1 - Foundation.pow(1 - acceptance, Double(drafts))
        acceptanceByDrafts[drafts] = (1 - smoothing) * prior + smoothing * rateK
        acceptance = (1 - smoothing) * acceptance + smoothing * rate1
    }

    /// A round of `drafts` drafts of `block` tokens waited `micros` for them.
    package mutating func observeWait(micros: Double, drafts: Int, block: Int) {
        guard block > 0, drafts > 0 else { return }
        let perToken = max(0, micros) / Double(block)
        waitPerBlockToken[drafts] = waitPerBlockToken[drafts].map { (1 - smoothing) * $0 + smoothing * perToken } ?? perToken
    }

    /// A round of `drafts` drafts emitted `tokens` tokens in `micros` (its wait and target pass).
    package mutating func observeThroughput(drafts: Int, tokens: Int, micros: Double) {
        guard drafts > 0, micros > 0 else { return }
        let rate = Double(tokens) / micros
        observedRate[drafts] = observedRate[drafts].map { ((1 - smoothing) * $0.rate + smoothing * rate, $0.rounds + 1) } ?? (rate, 1)
    }

    /// The observed wait per block token in rounds of `drafts` drafts (nil before any).
    package func waitPerBlockToken(drafts: Int) -> Double? { waitPerBlockToken[drafts] }

    /// Expected tokens per round for K drafts of γ tokens.
    package func expectedTokens(drafts: Int, block: Int) -> Double {
        if let rate = acceptanceByDrafts[drafts] {
            return (0...block).reduce(0) { $0 + rate.power($1) }
        }
        var total = 1.0
        var betaPower = 1.0
        for _ in 0..<block {
            betaPower *= acceptance
            var miss = 1.0
            for _ in 0..<drafts { miss *= 1 - betaPower }
            total += 1 - miss
        }
        return total
    }

    /// The (K, γ) with the best expected tokens per microsecond, K ≤ `maxDrafts`, γ ≤ `maxBlock`,
    /// for a target pass costing `passCost` and drafts by workers that announced
    /// `announcedMicrosPerToken`. K grows one at a time: a K is a candidate once K − 1 has been
    /// observed for a few rounds and delivered more than K − 2, so a K that brought nothing stops
    /// the search.
    package func choose(maxDrafts: Int, maxBlock: Int, passCost cost: (fixed: Double, perToken: Double),
                        announcedMicrosPerToken: Double = 0) -> (drafts: Int, block: Int) {
        var best = (drafts: 1, block: 1)
        var bestRate = -1.0
        var candidates = 1
        while candidates < maxDrafts, let rate = trustedRate(candidates), candidates == 1 || rate > trustedRate(candidates - 1) ?? 0 {
            candidates += 1
        }
        for k in 1...candidates {
            let wait = waitPerBlockToken[k] ?? announcedMicrosPerToken * DraftAssignment.batchCost(k)
            var block = 1, modelled = -1.0
            for g in 1...max(1, maxBlock) {
                let micros = cost.fixed + cost.perToken * Double(1 + k * g) + wait * Double(g)
                let rate = expectedTokens(drafts: k, block: g) / micros
                if rate > modelled + 1e-12 { (block, modelled) = (g, rate) }
            }
            let rate = trustedRate(k) ?? modelled
            if rate > bestRate + 1e-12 { (best, bestRate) = ((k, block), rate) }
        }
        return best
    }

    /// The observed tokens per microsecond of rounds of `drafts` drafts, once enough were seen.
    private func trustedRate(_ drafts: Int) -> Double? {
        observedRate[drafts].flatMap { $0.rounds >= roundsToTrust ? $0.rate : nil }
    }
}
