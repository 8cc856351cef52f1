/// How many draft tokens of each request one target pass verifies, chosen for the whole batch to
/// maximise the system's expected tokens per second of target time.
///
/// A pass costs `fixed + perToken · B` for B tokens (`PassCostLine`). Each ready request adds
/// its newest token (it yields one token whatever happens), and at depth d its K drafts add K·d
/// more, for an expected E(d) tokens (`SpeculationPlanner.expectedTokens`). Depth is added one
/// step at a time where it gains the most tokens per unit of cost, while that gain beats the
/// batch's tokens per cost so far: E is concave in d (each position is accepted only if the ones
/// before it were), so this greedy order is the best ratio (as in fractional knapsack). On a CPU,
/// where a longer pass costs about its length, a batch of several requests already amortises the
/// weight reads and low-acceptance drafts are left out; on a GPU, where a longer pass is nearly
/// free, every draft token is taken.
///
/// The choice reads only estimates learnt from past passes and what has arrived, never the
/// drafts' tokens, so every request still draws from the target's exact law.
package enum BatchPlanner {
    /// One request ready for the pass.
    package struct Candidate: Sendable {
        /// Drafts its pass would verify (K).
        package var drafts: Int
        /// `expectedTokens[d]`: the tokens its pass is expected to yield at depth d, from 0 (its
        /// own token: 1) to the depth its drafts reached; nondecreasing.
        package var expectedTokens: [Double]
        /// What each depth step costs besides the pass's longer length: the wait for drafts
        /// that have not arrived yet, per draft token (0 for tokens already there).
        package var waitPerToken: Double

        package init(drafts: Int, expectedTokens: [Double], waitPerToken: Double = 0) {
            self.drafts = drafts
            self.expectedTokens = expectedTokens
            self.waitPerToken = waitPerToken
        }

        /// The deepest its drafts reach.
        package var available: Int { drafts > 0 ? expectedTokens.count - 1 : 0 }
    }

    /// The depth each candidate's pass verifies (0: its newest token alone), for a pass cost of
    /// `fixed + perToken · tokens` (any unit of time).
    package static func depths(_ candidates: [Candidate], passCost: (fixed: Double, perToken: Double)) -> [Int] {
        var depths = [Int](repeating: 0, count: candidates.count)
        var tokens = candidates.reduce(0) { $0 + ($1.expectedTokens.first ?? 1) }
        var cost = passCost.fixed + passCost.perToken * Double(candidates.count)
        while true {
            // The next depth step with the most expected tokens per unit of cost.
            var best: (index: Int, gain: Double, cost: Double)?
            for (i, candidate) in candidates.enumerated() where depths[i] < candidate.available {
                let gain = candidate.expectedTokens[depths[i] + 1] - candidate.expectedTokens[depths[i]]
                let more = passCost.perToken * Double(candidate.drafts) + candidate.waitPerToken
                if best.map({ gain * $0.cost > $0.gain * more }) ?? true { best = (i, gain, more) }
            }
            // Taken while it raises tokens / cost: gain / more > tokens / cost.
            guard let step = best, step.gain > 0, step.gain * cost > tokens * step.cost else { return depths }
            depths[step.index] += 1
            tokens += step.gain
            cost += step.cost
        }
    }
}
