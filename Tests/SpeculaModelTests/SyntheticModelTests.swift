import SpeculaCore
import SpeculaModel
import Testing

/// The synthetic model: spec parsing, determinism, tunable agreement, and exactness of the
/// default verifier on it.
struct SyntheticModelTests {
    @Test func specsParseAndBadSpecsNameTheProblem() throws {
        let m = try SyntheticModel(spec: "synthetic:vocab=50,seed=3,window=2,latency=5+0.5")
        #expect(m.vocabularySize == 50 && m.seed == 3 && m.window == 2)
        #expect(m.latencyMs.fixed == 5 && m.latencyMs.perToken == 0.5)
        #expect(throws: SyntheticModelError.self) { try SyntheticModel(spec: "synthetic:vocab=50,colour=red") }
        #expect(throws: SyntheticModelError.self) { try SyntheticModel(spec: "synthetic:latency=fast") }
        #expect(throws: SyntheticModelError.self) { try SyntheticModel(spec: "vocab=50") }
    }

    @Test func rowsAreDeterministicAndDependOnTheContextWindow() throws {
        let m = try SyntheticModel(spec: "synthetic:vocab=64,seed=1,window=2")
        #expect(m.distribution(after: [1, 2, 3]) == m.distribution(after: [9, 2, 3]))  // only the last 2 count
        #expect(m.distribution(after: [1, 2, 3]) != m.distribution(after: [1, 2, 4]))
    }

    @Test func agreementOneIsTheTargetAndLowerAgreementDiffers() throws {
        let target = try SyntheticModel(spec: "synthetic:vocab=64,seed=1")
        let same = try SyntheticModel(spec: "synthetic:vocab=64,seed=1,agreement=1")
        let loose = try SyntheticModel(spec: "synthetic:vocab=64,seed=1,agreement=0.5")
        let q = target.distribution(after: [5]).probabilities
        let p1 = same.distribution(after: [5]).probabilities
        let p2 = loose.distribution(after: [5]).probabilities
        #expect(zip(q, p1).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(zip(q, p2).contains { abs($0 - $1) > 1e-4 })
    }

    @Test func defaultVerifierIsExactOnASyntheticPair() throws {
        let target = try SyntheticModel(spec: "synthetic:vocab=4,seed=11,window=2")
        let draft = try SyntheticModel(spec: "synthetic:vocab=4,seed=11,window=2,agreement=0.6,draft-seed=5")
        let analysis = ExactAnalysis(sampler: SpeculativeSampler(target: target, draft: draft, verifier: TraversalVerifier(order: .maxRatio), drafts: 2, blockLength: 2))
        let tv = ExactAnalysis.totalVariation(analysis.outputLaw(prompt: [0, 1], count: 3), analysis.targetLaw(prompt: [0, 1], count: 3))
        #expect(tv < 1e-12)
    }
}
