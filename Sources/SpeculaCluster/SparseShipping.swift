package import SpeculaCore
package import SpeculaNet

/// The one definition of the sparse draft distribution (design.md, "Sparse distributions"):
/// truncate to the `maxSupport` most likely tokens, round to the `Float`s that go on the wire, and
/// normalise those exact values. The worker samples from this distribution and the coordinator
/// rebuilds the same one from the wire, bit for bit, so the verifier sees exactly the law the
/// draft token was drawn from.
package enum SparseShipping {
    /// The shipped form of a transformed draft row: its `maxSupport` most likely tokens (ties: the
    /// smaller id), by probability, found with a bounded min-heap in O(V log maxSupport).
    package static func ship(_ row: DenseDistribution, maxSupport: Int) -> WireSparseDistribution {
        var heap = TopEntries(capacity: maxSupport > 0 ? maxSupport : Int.max)
        row.forEachOutcome { heap.offer(token: $0, probability: $1) }
        let entries = heap.sortedDescending()
        return WireSparseDistribution(tokenIDs: entries.map { UInt32($0.token) }, probabilities: entries.map { Float($0.probability) })
    }

    /// The distribution a shipped row stands for (what both sides sample / verify with), or nil
    /// when the row is not a valid distribution over `vocabularySize` tokens.
    package static func distribution(_ wire: WireSparseDistribution, vocabularySize: Int) -> SparseDistribution? {
        guard !wire.tokenIDs.isEmpty, wire.tokenIDs.count == wire.probabilities.count,
              wire.tokenIDs.allSatisfy({ Int($0) < vocabularySize }),
              wire.probabilities.allSatisfy({ $0.isFinite && $0 >= 0 }),
              Set(wire.tokenIDs).count == wire.tokenIDs.count
        else { return nil }
        let weights = wire.probabilities.map(Double.init)
        guard weights.reduce(0, +) > 0 else { return nil }
        return SparseDistribution(tokens: wire.tokenIDs.map(Int.init), weights: weights)
    }
}

/// The `capacity` largest (probability, then smaller token id) entries seen, as a min-heap whose
/// root is the entry to evict next.
struct TopEntries {
    struct Entry {
        var token: Token
        var probability: Double

        /// Ranks below `other` (probability first, then the larger id ranks lower).
        func ranksBelow(_ other: Entry) -> Bool {
            probability != other.probability ? probability < other.probability : token > other.token
        }
    }

    let capacity: Int
    private var heap: [Entry] = []

    init(capacity: Int) { self.capacity = capacity }

    mutating func offer(token: Token, probability: Double) {
        let entry = Entry(token: token, probability: probability)
        if heap.count < capacity {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if let root = heap.first, root.ranksBelow(entry) {
            heap[0] = entry
            siftDown(0)
        }
    }

    func sortedDescending() -> [Entry] {
        heap.sorted { $1.ranksBelow($0) }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].ranksBelow(heap[parent]) else { return }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < heap.count && heap[left].ranksBelow(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].ranksBelow(heap[smallest]) { smallest = right }
            if smallest == i { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
