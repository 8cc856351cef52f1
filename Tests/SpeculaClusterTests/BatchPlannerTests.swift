import SpeculaCluster
import Testing

/// The batch's choice of draft depths on synthetic cost lines and acceptance curves.
struct BatchPlannerTests {
    /// A request whose K drafts reach `depth`, each position accepted with probability `rate`
    /// given the ones before: E(d) = 1 + rate + … + rate^d.
    static func request(drafts: Int = 1, depth: Int, rate: Double) -> BatchPlanner.Candidate {
        .init(drafts: drafts, expectedTokens: (0...depth).map { d in (0...d).reduce(0) { $0 + pow(rate, Double($1)) } })
    }

    static func pow(_ x: Double, _ n: Double) -> Double { (0..<Int(n)).reduce(1) { r, _ in r * x } }

    @Test func onAGPULineEveryDraftTokenIsTaken() {
        // A pass costs 20 ms and next to nothing per token: drafts are nearly free.
        let batch = (0..<16).map { _ in Self.request(drafts: 2, depth: 6, rate: 0.6) }
        #expect(BatchPlanner.depths(batch, passCost: (fixed: 20_000, perToken: 0.5)) == Array(repeating: 6, count: 16))
    }

    @Test func whereALongerPassCostsMoreThanItGainsNoDraftIsTaken() {
        // A CPU line (cost ∝ tokens) and drafts accepted 30 % of the time: each draft token
        // costs a whole token's time for 0.3 tokens.
        let batch = (0..<4).map { _ in Self.request(depth: 4, rate: 0.3) }
        #expect(BatchPlanner.depths(batch, passCost: (fixed: 1_000, perToken: 10_000)) == [0, 0, 0, 0])
    }

    @Test func aLargerBatchTakesFewerDraftTokens() {
        let line = (fixed: 50_000.0, perToken: 5_000.0)
        let alone = BatchPlanner.depths([Self.request(depth: 6, rate: 0.8)], passCost: line)
        let crowd = BatchPlanner.depths((0..<16).map { _ in Self.request(depth: 6, rate: 0.8) }, passCost: line)
        #expect(alone == [6], "alone, the fixed cost dominates: every position pays")
        #expect(crowd.allSatisfy { $0 < 6 }, "in a batch of 16 the weight reads are already shared: \(crowd)")
    }

    @Test func theDraftsLikelierToBeAcceptedGoFirst() {
        let batch = [Self.request(depth: 4, rate: 0.2), Self.request(depth: 4, rate: 0.9), Self.request(depth: 4, rate: 0.5)]
        let depths = BatchPlanner.depths(batch, passCost: (fixed: 10_000, perToken: 4_000))
        #expect(depths[1] > depths[2] && depths[2] >= depths[0], "\(depths)")
        #expect(depths[0] == 0)
    }

    @Test func requestsWithoutDraftsDecodePlainly() {
        let batch = [BatchPlanner.Candidate(drafts: 0, expectedTokens: [1]), Self.request(depth: 3, rate: 0.9)]
        #expect(BatchPlanner.depths(batch, passCost: (fixed: 1, perToken: 0)) == [0, 3])
    }
}
