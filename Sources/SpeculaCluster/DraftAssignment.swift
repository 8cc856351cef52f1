/// Gives a round's K drafts to the workers of one pool: all of them to one worker when it can take
/// them. A worker drafts its blocks of a round in lockstep, one batched pass per step
/// (`Drafter.blocks`), and a draft model bound by memory bandwidth drafts K blocks together for
/// little more than the cost of one, so splitting a round across workers saves little and costs
/// the others' time (and two workers on one machine would each stream the weights).
///
/// The worker chosen is the one that would finish soonest — (queued drafts + the round's batch
/// cost) / tokens per second — and on a tie the one that drafted the request's previous round (it
/// holds the request's context in its cache). A worker takes at most its announced limit; the rest go to
/// the next soonest. Which drafts a worker gets depends only on speeds, queues and limits, never
/// on draft content.
package enum DraftAssignment {
    /// A prior for the cost of drafting `k` blocks together, in single blocks, for a draft model
    /// bound by memory bandwidth (Qwen 0.5B on one core: 2 blocks 1.14, 4 blocks 1.3, 8 blocks 1.5).
    package static func batchCost(_ k: Int) -> Double { 1 + 0.1 * Double(max(k, 1) - 1) }

    /// The worker index of each draft (fewer than `drafts` only when the workers' limits add up to
    /// less), for workers with the given speeds (0 = unknown), draft blocks already queued (other
    /// requests' rounds), limits on drafts per round (0 = none) and the worker that drafted the
    /// previous round.
    package static func assign(drafts: Int, speeds: [Double], queued: [Int]? = nil, limits: [Int]? = nil, previous: Int? = nil) -> [Int] {
        let rates = speeds.map { $0 > 0 ? $0 : (speeds.filter { $0 > 0 }.min() ?? 1) }
        let load = queued ?? Array(repeating: 0, count: speeds.count)
        var free = Array(speeds.indices)
        var assignment: [Int] = []
        while assignment.count < drafts, !free.isEmpty {
            let remaining = drafts - assignment.count
            let take = { (w: Int) in min(remaining, (limits?[w]).flatMap { $0 > 0 ? $0 : nil } ?? remaining) }
            let finish = { (w: Int) in (Double(load[w]) + batchCost(take(w))) / rates[w] }
            let w = free.min { a, b in
                (finish(a), a == previous ? 0 : 1, a) < (finish(b), b == previous ? 0 : 1, b)
            }!
            free.removeAll { $0 == w }
            assignment += Array(repeating: w, count: take(w))
        }
        return assignment
    }
}
