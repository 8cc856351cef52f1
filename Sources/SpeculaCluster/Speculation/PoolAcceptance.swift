/// How much of the accepted text each draft pool's drafts covered, per pass it served, kept per
/// request regime (verifier and temperature: prompt lookup's point masses fare far better
/// against a greedy target than against one sampling at τ = 1): orders a mixed round's pools
/// (`MixedBlockVerifier` tries them in turn and never does worse than its first alone, so the
/// best goes first) and leaves out the pools that do not pay.
///
/// A pool covers the accepted path up to the deepest of its nodes that a draft of the pool went
/// through; the record is a moving average of that, in tokens per pass. It depends on the drafts'
/// content only through what was accepted, and it steers later rounds only: which pools take part
/// in a pass is decided before their drafts exist.
package struct PoolAcceptance {
    /// A request regime: its verifier and its temperature in tenths (greedy: −1).
    package struct Regime: Hashable {
        let verifier: String
        let temperatureTenths: Int

        package init(verifier: String, temperatureTenths: Int) {
            (self.verifier, self.temperatureTenths) = (verifier, temperatureTenths)
        }
    }

    private struct Key: Hashable {
        let regime: Regime
        let pool: String
    }

    /// Moving averages of tokens covered per pass, and passes seen.
    private var covered: [Key: Double] = [:]
    private var passes: [Key: Int] = [:]

    package init() {}

    /// Weight of the newest pass in the average.
    package static let smoothing = 0.1
    /// A secondary pool that covers less than this many tokens per pass (once measured over
    /// `measuredPasses`) is left out of rounds but probes.
    package static let minimumCovered = 0.25
    package static let measuredPasses = 8
    /// What a pool not measured yet is taken to cover.
    package static let prior = 1.0

    /// A pass a pool's drafts served in `regime`, and how many tokens of its accepted path they
    /// covered.
    package mutating func observe(pool: String, in regime: Regime, covered tokens: Int) {
        let key = Key(regime: regime, pool: pool)
        let old = covered[key] ?? Double(tokens)
        covered[key] = old + Self.smoothing * (Double(tokens) - old)
        passes[key, default: 0] += 1
    }

    /// Tokens per pass the pool is expected to cover in `regime`.
    package func expected(_ pool: String, in regime: Regime) -> Double {
        covered[Key(regime: regime, pool: pool)] ?? Self.prior
    }

    /// Whether a pool that is not first pays its place in a round of `regime`.
    package func pays(_ pool: String, in regime: Regime) -> Bool {
        passes[Key(regime: regime, pool: pool), default: 0] < Self.measuredPasses || expected(pool, in: regime) >= Self.minimumCovered
    }

    /// `pools` best first in `regime`: by tokens covered, then by more workers, then by fingerprint.
    package func ordered(_ pools: [String: [UInt64]], in regime: Regime) -> [(fingerprint: String, workers: [UInt64])] {
        pools.map { (fingerprint: $0.key, workers: $0.value) }.sorted { a, b in
            let (ea, eb) = (expected(a.fingerprint, in: regime), expected(b.fingerprint, in: regime))
            if ea != eb { return ea > eb }
            if a.workers.count != b.workers.count { return a.workers.count > b.workers.count }
            return a.fingerprint < b.fingerprint
        }
    }
}
