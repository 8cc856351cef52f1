package import SpeculaNet

/// One draft of a round drawn twice, or three times: by the worker it was assigned to and by
/// auditors of the same pool, from the same context, stream and seed. Honest workers of one pool
/// ship bitwise equal rows (same weights, batch-invariant kernels), so a difference proves one of
/// them wrong, and a third drafter outvotes it.
///
/// Why: the coordinator's redraw of each token from its row catches any worker whose tokens do not
/// follow its rows, but not one that knows its random stream and crafts rows around it (the token
/// then follows the row, which is not the model's). Only another copy of the model can tell.
/// Auditors' tokens never reach the verifier: an audit changes nothing in the output law.
package struct DraftAudit {
    /// The round's draft index audited and the context position its tokens start at.
    package let draft: Int
    package let base: Int
    package let lookahead: Int
    /// The drafters (connection ids): the assigned worker, the auditor, then the tiebreaker.
    package private(set) var drafters: [UInt64]
    /// Each drafter's shipped token and row by position, until compared.
    private var shipped: [UInt64: [Int: Shipped]] = [:]
    /// The first position where the first two differed, once they did.
    private(set) var disputed: (position: Int, first: Shipped, second: Shipped)?

    package struct Shipped: Equatable {
        let token: UInt32
        let row: WireSparseDistribution
    }

    /// What the audit has found after a delivery.
    package enum Finding: Equatable {
        case pending
        /// The first two agree on every position both delivered so far.
        case agreeing
        /// The first two differ (reported once): a tiebreaker is needed.
        case disputed
        /// The tiebreaker sided with one: the other (a connection id) is outvoted.
        case outvoted(UInt64)
        /// The tiebreaker agrees with neither.
        case inconclusive
    }

    package init(draft: Int, base: Int, lookahead: Int, worker: UInt64, auditor: UInt64) {
        self.draft = draft
        self.base = base
        self.lookahead = lookahead
        self.drafters = [worker, auditor]
    }

    package func isDrafter(_ connection: UInt64) -> Bool { drafters.contains(connection) }

    package mutating func addTiebreaker(_ connection: UInt64) { drafters.append(connection) }

    /// Records a drafter's tokens from `position` and compares what can be compared.
    package mutating func record(_ drafter: UInt64, from position: Int, tokens: [UInt32], rows: [WireSparseDistribution]) -> Finding {
        for (offset, (token, row)) in zip(tokens, rows).enumerated() where position + offset < base + lookahead {
            shipped[drafter, default: [:]][position + offset] = Shipped(token: token, row: row)
        }
        if let disputed {
            guard drafters.count == 3, let third = shipped[drafters[2]]?[disputed.position] else { return .pending }
            if third == disputed.first { return .outvoted(drafters[1]) }
            if third == disputed.second { return .outvoted(drafters[0]) }
            return .inconclusive
        }
        let (first, second) = (shipped[drafters[0]] ?? [:], shipped[drafters[1]] ?? [:])
        var compared = false
        for position in first.keys.sorted() {
            guard let other = second[position] else { continue }
            compared = true
            if other != first[position]! {
                disputed = (position, first[position]!, other)
                return .disputed
            }
            // Agreed: no longer needed (memory stays bounded by the lookahead).
            shipped[drafters[0]]?[position] = nil
            shipped[drafters[1]]?[position] = nil
        }
        return compared ? .agreeing : .pending
    }
}
