/// Splits a round's K drafts among a pool's workers by measured speed and current queue: each
/// draft goes to the worker that would finish it soonest ((queued + assigned + 1) blocks /
/// tokens-per-second), so a slow or busy worker gets fewer drafts and the round's deadline is
/// rarely hit. Equal (or unknown) speeds and queues split evenly. Which drafts a worker gets
/// depends only on speeds and queues, never on draft content.
package enum DraftAssignment {
    /// The worker index of each draft, for workers with the given speeds (0 = unknown) and draft
    /// blocks already queued (other requests' rounds).
    package static func assign(drafts: Int, speeds: [Double], queued: [Int]? = nil) -> [Int] {
        guard !speeds.isEmpty else { return [] }
        let rates = speeds.map { $0 > 0 ? $0 : (speeds.filter { $0 > 0 }.min() ?? 1) }
        var load = queued ?? Array(repeating: 0, count: speeds.count)
        return (0..<drafts).map { _ in
            let w = rates.indices.min { a, b in Double(load[a] + 1) / rates[a] < Double(load[b] + 1) / rates[b] }!
            load[w] += 1
            return w
        }
    }
}
