import SpeculaCore
import Testing

/// Hand-computed checks of the distribution types, the sampling transform and the random streams.
struct DistributionTests {
    @Test func blockedSamplingAgreesWithTheLinearInverseCDF() {
        var stream = RandomStream(seed: 3)
        let weights = (0..<1000).map { i in i % 7 == 0 ? 0 : stream.nextUnit() }
        let dense = DenseDistribution(weights: weights)
        for _ in 0..<2000 {
            let u = stream.nextUnit()
            var cumulative = 0.0
            var expected = 0
            for (t, p) in dense.probabilities.enumerated() where p > 0 {
                cumulative += p
                expected = t
                if u < cumulative { break }
            }
            #expect(dense.sample(quantile: u) == expected)
        }
    }

    @Test func patchedResidualMatchesTheDenseFormula() {
        let q = DenseDistribution(weights: [0.1, 0.2, 0.3, 0.4, 0.0, 0.5])
        let support = [3, 1, 5]
        let draft = [0.5, 0.25, 0.25]
        var patched = PatchedDistribution(base: q, patchTokens: support)
        let w = 0.8
        let mass = patched.subtractResidual(weight: w, draft: draft)
        var expected = q.probabilities.map { w * $0 }
        for (t, p) in zip(support, draft) { expected[t] = max(0, w * q.probabilities[t] - p) }
        let total = expected.reduce(0, +)
        #expect(abs(mass - total) < 1e-15)
        for t in 0..<6 { #expect(abs(patched.probability(of: t) - expected[t] / total) < 1e-15) }
        var outcomes = 0.0
        patched.forEachOutcome { _, p in outcomes += p }
        #expect(abs(outcomes - 1) < 1e-15)
    }

    @Test func patchedSamplingSkipsThePatchedTokens() {
        let q = DenseDistribution(weights: (0..<600).map { _ in 1.0 })
        var patched = PatchedDistribution(base: q, patchTokens: [0, 300, 599])
        patched.transform(outsideFactor: 1) { _, _ in 0 }  // all mass outside the patch
        for u in stride(from: 0.0, to: 1.0, by: 0.001) {
            let t = patched.sample(quantile: u)
            #expect(![0, 300, 599].contains(t))
        }
    }

    @Test func greedyTransformPutsAllMassOnTheArgmax() {
        let d = SamplingParameters(temperature: 0).distribution(logits: [1.0, 3.0, 3.0, 2.0])
        #expect(d.probabilities == [0, 1, 0, 0])
    }

    @Test func topKTopPAndMinPCutAsDocumented() {
        let p = [0.4, 0.3, 0.2, 0.1]
        #expect(SamplingParameters(topK: 2).distribution(probabilities: p).probabilities.map { ($0 * 70).rounded() } == [40, 30, 0, 0])
        // top-p 0.75: the smallest prefix with mass ≥ 0.75 is {0.4, 0.3, 0.2}.
        let topP = SamplingParameters(topP: 0.75).distribution(probabilities: p).probabilities
        #expect(abs(topP[2] - 0.2 / 0.9) < 1e-12 && topP[3] == 0)
        // min-p 0.5: keep p ≥ 0.2.
        let minP = SamplingParameters(minP: 0.5).distribution(probabilities: p).probabilities
        #expect(minP[3] == 0 && abs(minP[0] - 0.4 / 0.9) < 1e-12)
        // temperature 0.5 squares the probabilities.
        let hot = SamplingParameters(temperature: 0.5).distribution(probabilities: [0.75, 0.25]).probabilities
        #expect(abs(hot[0] - 0.9) < 1e-12)
    }

    @Test func streamsAreReproducibleAndDistinct() {
        var a = RandomStream(seed: 9, stream: 1), a2 = RandomStream(seed: 9, stream: 1), b = RandomStream(seed: 9, stream: 2)
        let xa = (0..<4).map { _ in a.next() }
        #expect(xa == (0..<4).map { _ in a2.next() })
        #expect(xa != (0..<4).map { _ in b.next() })
        var c1 = RandomStream(seed: 9).split(5), c2 = RandomStream(seed: 9).split(5), c3 = RandomStream(seed: 9).split(6)
        #expect(c1.next() == c2.next())
        #expect(c1.next() != c3.next())
    }

    @Test func unitDrawsLookUniform() {
        var stream = RandomStream(seed: 1234)
        var bins = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { bins[Int(stream.nextUnit() * 10)] += 1 }
        // Each bin expects 10,000 with stddev ≈ 95; 6 stddev keeps false alarms below 1e-8.
        #expect(bins.allSatisfy { abs($0 - 10_000) < 600 }, "\(bins)")
    }

    @Test func draftTreeMergesCommonPrefixesInFirstAppearanceOrder() {
        let tree = DraftTree(drafts: [[1, 2, 3], [1, 2, 0], [2, 1], [1, 2, 3]])
        #expect(tree[0].children.map { tree[$0].token } == [1, 2])
        let n12 = tree.child(of: tree.child(of: 0, token: 1)!, token: 2)!
        #expect(tree[n12].drafts == [0, 1, 3])
        #expect(tree[n12].children.map { tree[$0].token } == [3, 0])
        #expect(tree.path(to: tree.leaves[3]) == [1, 2, 3])
        #expect(tree.leaves[0] == tree.leaves[3])
        #expect(tree.continuingDraftCount(at: 0) == 4)
    }
}
