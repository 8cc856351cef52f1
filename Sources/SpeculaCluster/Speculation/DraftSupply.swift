/// How many drafts the draft pool keeps ahead of the target at once, learnt from the passes.
///
/// Workers share their cores among every draft they draw; past some number of drafts they fall
/// behind the target, and a request whose drafts lag misses passes waiting for their next token
/// (the first-token coupling needs it). Plain continuous batching never waits. The supply is
/// measured, not modelled, a window of `windowPasses` passes at a time: where the passes missed
/// cost more tokens than the drafts' accepted tokens brought (a missed pass costs its request the
/// tokens a drafted request's pass gives on average), the limit drops to the drafts that kept up;
/// where the limit was used and paid, it grows by one draft. A request's next round asks for no
/// more drafts than are left (K shrinks before drafting stops); a request with none left decodes
/// plainly in the batch until a place frees. Occasional misses of drafts that pay well (a GPU
/// target, where a pass is short and drafts long) keep every draft.
///
/// It reads only timing (who was waiting when a pass started), never the drafts' tokens, so
/// which requests draft leaves every request's law the target's.
package struct DraftSupply: Sendable {
    /// Drafts (streams, over all requests) that may run at once; nil while the pool keeps up
    /// with every one.
    package private(set) var limit: Int?
    /// The window so far: passes, the drafts' passes and misses in them, the drafted requests'
    /// passes and misses, and the draft tokens accepted.
    private var passes = 0, drafted = 0, missed = 0, requestPasses = 0, missedPasses = 0, accepted = 0

    package init() {}

    /// Passes per window.
    package static let windowPasses = 16
    /// A pass started while `drafting` drafts of `requests` requests ran, `lagging` of which made
    /// their request miss it (`missing` requests) waiting for their next token.
    package mutating func passStarted(drafting: Int, requests: Int, lagging: Int, missing: Int) {
        (passes, drafted, missed) = (passes + 1, drafted + drafting, missed + lagging)
        (requestPasses, missedPasses) = (requestPasses + requests, missedPasses + missing)
        guard passes == Self.windowPasses else { return }
        defer { (passes, drafted, missed, requestPasses, missedPasses, accepted) = (0, 0, 0, 0, 0, 0) }
        guard drafted > 0 else { return }
        let mean = Double(drafted) / Double(passes)
        let tokensPerPass = 1 + Double(accepted) / Double(max(requestPasses - missedPasses, 1))
        if Double(missedPasses) * tokensPerPass > Double(accepted) {
            limit = max(1, min(limit ?? .max, Int(mean * (1 - Double(missed) / Double(drafted)))))
        } else if let current = limit, mean > Double(current) - 0.5 {
            limit = current + 1
        }
    }

    /// A pass accepted `tokens` draft tokens.
    package mutating func accepted(_ tokens: Int) { accepted += tokens }

    /// How many more drafts may start while `drafting` others run.
    package func available(drafting: Int) -> Int { limit.map { max(0, $0 - drafting) } ?? .max }
}
