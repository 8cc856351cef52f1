/// The `capacity` largest entries offered — by score, ties to the smaller id — kept as a bounded
/// min-heap whose root is the entry to evict next: O(n log capacity) for n offers. One top-k for
/// the rows a draft ships (`SparseShipping`: its most likely tokens) and the rows a draft's output
/// head computes exactly (`CandidateOutput`: the best sketch scores).
package struct LargestEntries<Score: Comparable> {
    package let capacity: Int
    @usableFromInline var scores: [Score] = []
    /// The kept entries' ids, in heap order.
    @usableFromInline var storedIDs: [Int] = []

    @inlinable package init(capacity: Int) {
        self.capacity = capacity
        scores.reserveCapacity(Swift.min(capacity, 1 << 12))
        storedIDs.reserveCapacity(Swift.min(capacity, 1 << 12))
    }

    /// Whether `capacity` entries are kept: an offer must then outrank `smallestScore`.
    @inlinable package var isFull: Bool { scores.count == capacity }
    /// The score of the entry to evict next, if any.
    @inlinable package var smallestScore: Score? { scores.first }
    /// The kept ids, in no particular order.
    @inlinable package var ids: [Int] { storedIDs }

    @inlinable package mutating func offer(score: Score, id: Int) {
        if scores.count < capacity {
            scores.append(score)
            storedIDs.append(id)
            siftUp(scores.count - 1)
        } else if capacity > 0, ranks(scores[0], storedIDs[0], below: score, id) {
            scores[0] = score
            storedIDs[0] = id
            siftDown(0)
        }
    }

    /// The kept entries, best first.
    @inlinable package func sortedDescending() -> [(id: Int, score: Score)] {
        zip(storedIDs, scores).map { (id: $0, score: $1) }.sorted { ranks($1.score, $1.id, below: $0.score, $0.id) }
    }

    @inlinable func ranks(_ score: Score, _ id: Int, below otherScore: Score, _ otherID: Int) -> Bool {
        score != otherScore ? score < otherScore : id > otherID
    }

    @inlinable func below(_ a: Int, _ b: Int) -> Bool { ranks(scores[a], storedIDs[a], below: scores[b], storedIDs[b]) }

    @inlinable mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0, below(i, (i - 1) / 2) {
            swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    @inlinable mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let left = 2 * i + 1, right = left + 1
            var smallest = i
            if left < scores.count, below(left, smallest) { smallest = left }
            if right < scores.count, below(right, smallest) { smallest = right }
            if smallest == i { return }
            swapAt(i, smallest)
            i = smallest
        }
    }

    @inlinable mutating func swapAt(_ a: Int, _ b: Int) {
        scores.swapAt(a, b)
        storedIDs.swapAt(a, b)
    }
}
