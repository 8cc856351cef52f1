import SpeculaCore
import SpeculaModel
import Testing

/// Exact enumeration of every verifier on random prefix-dependent toy pairs (verifiers.md, "How to
/// test a verifier exactly"): the law of the first N = 3 generated tokens, over as many rounds as
/// needed, must equal the target's own law to 1e-12 in total variation; negative controls must not.
struct ExactnessTests {
    /// One toy setting: vocabulary V, n-gram order, drafts K, block length γ, pair seed.
    struct Setting: CustomTestStringConvertible, Sendable {
        var vocabulary: Int
        var order: Int
        var drafts: Int
        var block: Int
        var seed: UInt64
        var temperature: Double = 1

        var testDescription: String { "V=\(vocabulary) n=\(order) K=\(drafts) γ=\(block) seed=\(seed) τ=\(temperature)" }
    }

    /// Chosen so that V^(K·γ) draft combinations stay enumerable in seconds.
    static let settings: [Setting] = [
        Setting(vocabulary: 3, order: 3, drafts: 1, block: 1, seed: 1),
        Setting(vocabulary: 3, order: 3, drafts: 1, block: 3, seed: 2),
        Setting(vocabulary: 4, order: 3, drafts: 1, block: 3, seed: 3),
        Setting(vocabulary: 3, order: 3, drafts: 2, block: 2, seed: 4),
        Setting(vocabulary: 4, order: 3, drafts: 2, block: 3, seed: 5),
        Setting(vocabulary: 3, order: 3, drafts: 3, block: 2, seed: 6),
        Setting(vocabulary: 3, order: 2, drafts: 3, block: 3, seed: 7),
        Setting(vocabulary: 4, order: 2, drafts: 3, block: 2, seed: 8),
        Setting(vocabulary: 3, order: 2, drafts: 4, block: 2, seed: 9),
        Setting(vocabulary: 4, order: 2, drafts: 4, block: 1, seed: 10),
        Setting(vocabulary: 3, order: 3, drafts: 2, block: 2, seed: 11, temperature: 0.6),
    ]

    static let lossless: [VerifierKind] = [.token, .block, .rrs, .rrsWithoutReplacement, .kseq, .traversal, .multidraftBlock]

    static func distance(_ kind: VerifierKind, _ s: Setting, prompt: [Token] = [0, 1], tokens: Int = 3) -> Double {
        let pair = RandomToyModels.pair(vocabularySize: s.vocabulary, order: s.order, seed: s.seed)
        let sampler = SpeculativeSampler(
            target: pair.target, draft: pair.draft, verifier: kind.makeVerifier(),
            sampling: SamplingParameters(temperature: s.temperature),
            drafts: kind.usesMultipleDrafts ? s.drafts : 1, blockLength: s.block)
        let analysis = ExactAnalysis(sampler: sampler)
        let law = analysis.outputLaw(prompt: prompt, count: tokens)
        let target = analysis.targetLaw(prompt: prompt, count: tokens)
        #expect(abs(law.values.reduce(0, +) - 1) < 1e-12, "the output law must sum to 1")
        return ExactAnalysis.totalVariation(law, target)
    }

    @Test(arguments: settings)
    func everyLosslessVerifierMatchesTheTargetLaw(setting: Setting) {
        for kind in Self.lossless {
            let tv = Self.distance(kind, setting)
            #expect(tv <= 1e-12, "\(kind.rawValue) at \(setting.testDescription): TV \(tv)")
        }
    }

    @Test func greedyVerifierMatchesGreedyTargetDecoding() {
        for setting in Self.settings.prefix(8) {
            var greedy = setting
            greedy.temperature = 0
            let tv = Self.distance(.greedy, greedy)
            #expect(tv <= 1e-12, "greedy at \(greedy.testDescription): TV \(tv)")
        }
    }

    @Test func publishedSpecTrGBVIsNotLossless() {
        // The finding of verifiers.md: the released code is lossy, for K = 1 as well as K ≥ 2.
        let worst = Self.settings.filter { $0.block >= 2 && $0.drafts <= 3 }.map { Self.distance(.spectrGBVPublished, $0) }.max()!
        #expect(worst > 0.01, "spectr-gbv-published should be visibly lossy; worst TV \(worst)")
        let single = Self.distance(.spectrGBVPublished, Setting(vocabulary: 3, order: 3, drafts: 1, block: 3, seed: 2))
        #expect(single > 1e-3, "lossy at K = 1 too; TV \(single)")
    }

    @Test func blockWithoutPerStepClippingIsNotLossless() {
        let worst = [Setting(vocabulary: 3, order: 3, drafts: 1, block: 3, seed: 2),
                     Setting(vocabulary: 4, order: 3, drafts: 1, block: 3, seed: 3)]
            .map { Self.distance(.brokenBlockUnclipped, $0) }.max()!
        #expect(worst > 1e-3, "unclipped block verification should be lossy; TV \(worst)")
    }

    @Test func smallestIndexTraversalIsNotLosslessAtThreeDrafts() {
        let worst = Self.settings.filter { $0.drafts == 3 }.map { Self.distance(.brokenTraversalSmallestIndex, $0) }.max()!
        #expect(worst > 1e-4, "smallest-index leaf order should be lossy at K = 3; TV \(worst)")
    }
}
