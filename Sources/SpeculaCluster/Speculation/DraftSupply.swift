/// How many requests the draft pool keeps ahead of the target at once, learnt from the passes.
///
/// Workers share their cores among every request they draft for; past some number of requests
/// their drafts fall behind the target, and a request whose drafts lag misses passes waiting for
/// their next token (the first-token coupling needs it). Plain continuous batching never waits,
/// so a request that cannot be kept ahead is better off without drafts. The supply is measured
/// the way TCP measures a path, not modelled: while no drafted request misses a pass, the limit
/// grows by one request every `growthPasses` passes that use it all; when requests miss a pass
/// for their drafts, it drops to the number that kept up. Requests past the limit decode plainly
/// in the batch until a place frees.
///
/// It reads only timing (who was waiting when a pass started), never the drafts' tokens, so
/// which requests draft leaves every request's law the target's.
package struct DraftSupply {
    /// Requests that may draft at once; nil while no drafted request has missed a pass.
    package private(set) var limit: Int?
    /// Passes since the last miss that had the limit's number of requests drafting.
    private var passesAtLimit = 0

    package init() {}

    /// Passes at the limit without a miss before it grows by one request.
    package static let growthPasses = 16

    /// A pass started while `drafting` requests had drafts, `lagging` of which missed it waiting
    /// for their drafts' next token.
    package mutating func passStarted(drafting: Int, lagging: Int) {
        if lagging > 0 {
            limit = max(1, min(limit ?? drafting, drafting - lagging))
            passesAtLimit = 0
        } else if let current = limit, drafting >= current {
            passesAtLimit += 1
            guard passesAtLimit >= Self.growthPasses else { return }
            limit = current + 1
            passesAtLimit = 0
        }
    }

    /// Whether one more request may start drafting while `drafting` others do.
    package func admits(drafting: Int) -> Bool { limit.map { drafting < $0 } ?? true }
}
