import SpeculaCore
import Testing

struct LargestEntriesTests {
    @Test(arguments: [0, 1, 3, 17, 200])
    func keepsTheLargestScoresWithTiesToTheSmallerID(capacity: Int) {
        var random = RandomStream(seed: UInt64(capacity))
        // Few distinct scores, so ties are everywhere.
        let scores = (0..<120).map { _ in Int(random.nextUnit() * 8) }
        var top = LargestEntries<Int>(capacity: capacity)
        for (id, score) in scores.enumerated().shuffled(using: &random) { top.offer(score: score, id: id) }
        let expected = scores.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
            .prefix(capacity)
        #expect(top.sortedDescending().map(\.id) == expected.map(\.offset))
        #expect(Set(top.ids) == Set(expected.map(\.offset)))
        #expect(top.isFull == (capacity <= scores.count))
    }
}
