/// How much of the accepted text each draft pool's drafts covered, per pass it served: orders a
/// mixed round's pools (`MixedBlockVerifier` tries them in turn and never does worse than its
/// first alone, so the best goes first) and leaves out the pools that do not pay.
///
/// A pool covers the accepted path up to the deepest of its nodes that a draft of the pool went
/// through; the record is a moving average of that, in tokens per pass. It depends on the drafts'
/// content only through what was accepted, and it steers later rounds only: which pools take part
/// in a pass is decided before their drafts exist.
struct PoolAcceptance {
    /// Moving averages of tokens covered per pass, and passes seen, by pool fingerprint.
    private var covered: [String: Double] = [:]
    private var passes: [String: Int] = [:]

    /// Weight of the newest pass in the average.
    static let smoothing = 0.1
    /// A secondary pool that covers less than this many tokens per pass (once measured over
    /// `measuredPasses`) is left out of rounds but probes.
    static let minimumCovered = 0.25
    static let measuredPasses = 8
    /// What a pool not measured yet is taken to cover.
    static let prior = 1.0

    /// A pass a pool's drafts served, and how many tokens of its accepted path they covered.
    mutating func observe(pool: String, covered tokens: Int) {
        let old = covered[pool] ?? Double(tokens)
        covered[pool] = old + Self.smoothing * (Double(tokens) - old)
        passes[pool, default: 0] += 1
    }

    /// Tokens per pass the pool is expected to cover.
    func expected(_ pool: String) -> Double {
        (passes[pool] ?? 0) > 0 ? covered[pool]! : Self.prior
    }

    /// Whether a pool that is not first pays its place in a round.
    func pays(_ pool: String) -> Bool {
        (passes[pool] ?? 0) < Self.measuredPasses || expected(pool) >= Self.minimumCovered
    }

    /// `pools` best first: by tokens covered, then by more workers, then by fingerprint.
    func ordered(_ pools: [String: [UInt64]]) -> [(fingerprint: String, workers: [UInt64])] {
        pools.map { (fingerprint: $0.key, workers: $0.value) }.sorted { a, b in
            let (ea, eb) = (expected(a.fingerprint), expected(b.fingerprint))
            if ea != eb { return ea > eb }
            if a.workers.count != b.workers.count { return a.workers.count > b.workers.count }
            return a.fingerprint < b.fingerprint
        }
    }
}
