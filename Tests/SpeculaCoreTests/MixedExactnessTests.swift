import SpeculaCore
import SpeculaModel
import Testing

/// Exact enumeration of the verifiers for drafts of different laws: two toy draft tables and a
/// prompt-lookup drafter (point masses) in one round. The law of the first N = 3 tokens over as
/// many rounds as needed must equal the target's to 1e-12; verifiers for one law, given the same
/// mixed drafts, must be caught.
struct MixedExactnessTests {
    /// Drafts per pool (0: pool left out), toy shape and seeds, temperature.
    struct Setting: CustomTestStringConvertible, Sendable {
        var vocabulary: Int
        var order: Int
        var first: Int
        var second: Int
        var lookup: Int
        var block: Int
        var seed: UInt64
        var temperature: Double = 1

        var testDescription: String {
            "V=\(vocabulary) n=\(order) K=\(first)+\(second)+\(lookup) γ=\(block) seed=\(seed) τ=\(temperature)"
        }
    }

    static let settings: [Setting] = [
        Setting(vocabulary: 3, order: 3, first: 1, second: 1, lookup: 0, block: 2, seed: 31),
        Setting(vocabulary: 3, order: 3, first: 1, second: 0, lookup: 1, block: 3, seed: 32),
        Setting(vocabulary: 3, order: 2, first: 1, second: 1, lookup: 1, block: 2, seed: 33),
        Setting(vocabulary: 4, order: 2, first: 2, second: 1, lookup: 0, block: 2, seed: 34),
        Setting(vocabulary: 3, order: 3, first: 2, second: 1, lookup: 1, block: 2, seed: 35),
        Setting(vocabulary: 3, order: 3, first: 1, second: 1, lookup: 1, block: 2, seed: 36, temperature: 0.6),
        Setting(vocabulary: 4, order: 3, first: 1, second: 2, lookup: 0, block: 2, seed: 37, temperature: 0.6),
    ]

    /// The sampler for a setting: the pair's draft, a second draft table, a prompt-lookup drafter,
    /// tried in `order` (pools without drafts left out).
    static func sampler(_ kind: VerifierKind, _ s: Setting, order: [Int] = [0, 1, 2]) -> SpeculativeSampler {
        let (target, pools) = RandomToyModels.mixedPools(vocabularySize: s.vocabulary, order: s.order, seed: s.seed,
                                                         drafts: (s.first, s.second, s.lookup))
        return SpeculativeSampler(target: target, pools: order.map { pools[$0] }.filter { $0.drafts > 0 }, verifier: kind.makeVerifier(),
                                  sampling: SamplingParameters(temperature: s.temperature), blockLength: s.block)
    }

    static func distance(_ kind: VerifierKind, _ s: Setting, order: [Int] = [0, 1, 2]) -> Double {
        let analysis = ExactAnalysis(sampler: sampler(kind, s, order: order))
        let prompt = [0, 1, 0]
        let law = analysis.outputLaw(prompt: prompt, count: 3)
        #expect(abs(law.values.reduce(0, +) - 1) < 1e-12, "the output law must sum to 1")
        return ExactAnalysis.totalVariation(law, analysis.targetLaw(prompt: prompt, count: 3))
    }

    @Test(arguments: settings)
    func mixedVerifiersMatchTheTargetLaw(setting: Setting) {
        for kind in [VerifierKind.mixedBlock, .mixedRRS] {
            for order in [[0, 1, 2], [2, 1, 0]] {
                let tv = Self.distance(kind, setting, order: order)
                #expect(tv <= 1e-12, "\(kind.rawValue), pools in order \(order), at \(setting.testDescription): TV \(tv)")
            }
        }
    }

    @Test func greedyVerificationOfMixedDraftsMatchesGreedyDecoding() {
        for var setting in Self.settings.prefix(4) {
            setting.temperature = 0
            let tv = Self.distance(.greedy, setting)
            #expect(tv <= 1e-12, "greedy at \(setting.testDescription): TV \(tv)")
        }
    }

    /// Negative control: a verifier for one law given mixed drafts as a one-pool tree would give
    /// them (`FirstRowView`: the first draft's row at every node) is caught.
    @Test func singleLawVerifiersAreLossyOnMixedDrafts() {
        for kind in [VerifierKind.multidraftBlock, .rrs] {
            let worst = Self.settings.map { s in
                let sampler = Self.sampler(kind, s)
                let viewed = SpeculativeSampler(target: sampler.target, pools: sampler.pools, verifier: FirstRowView(kind.makeVerifier()),
                                                sampling: sampler.sampling, blockLength: sampler.blockLength)
                let analysis = ExactAnalysis(sampler: viewed)
                return ExactAnalysis.totalVariation(analysis.outputLaw(prompt: [0, 1, 0], count: 3), analysis.targetLaw(prompt: [0, 1, 0], count: 3))
            }.max()!
            #expect(worst > 1e-3, "\(kind.rawValue) on mixed drafts should be visibly lossy; worst TV \(worst)")
        }
    }

    /// Mixed-block is never worse than its first pool alone, and on these settings not worse than
    /// mixed RRS.
    @Test(arguments: settings)
    func mixedBlockGainsOverItsFirstPoolAndOverMixedRRS(setting: Setting) {
        let context = [0, 1, 0]
        let mixed = ExactAnalysis(sampler: Self.sampler(.mixedBlock, setting)).expectedTokensPerRound(context: context)
        let rrs = ExactAnalysis(sampler: Self.sampler(.mixedRRS, setting)).expectedTokensPerRound(context: context)
        var firstAlone = setting
        (firstAlone.second, firstAlone.lookup) = (0, 0)
        let alone = ExactAnalysis(sampler: Self.sampler(.multidraftBlock, firstAlone)).expectedTokensPerRound(context: context)
        #expect(mixed >= alone - 1e-12, "mixed-block \(mixed) < its first pool alone \(alone)")
        #expect(mixed >= rrs - 1e-12, "mixed-block \(mixed) < mixed-rrs \(rrs)")
    }
}

/// Hands a verifier for one law the drafts of several pools as a tree of one law: the first draft's
/// row at every node, and drafts with a token outside the row there left out (as a coordinator
/// pooling every draft together would) — the mistake the negative control must catch.
struct FirstRowView: Verifier {
    let inner: any Verifier
    var name: String { "first-row-" + inner.name }

    init(_ inner: any Verifier) { self.inner = inner }

    func verify<Choices: RandomChoices>(_ problem: VerificationProblem, choices: inout Choices) -> VerificationOutcome {
        let tree = problem.tree
        let drafts = tree.leaves.map { tree.path(to: $0) }
        var rowAt: [[Token]: SparseDistribution] = [:]
        var kept: [[Token]] = []
        for (j, draft) in drafts.enumerated() {
            let nodes = tree.nodePath(to: tree.leaves[j])
            let own = draft.indices.map { problem.draftLaw(at: nodes[$0], pool: problem.pool(ofDraft: j)) }
            guard draft.indices.allSatisfy({ (rowAt[Array(draft[..<$0])] ?? own[$0]).probability(of: draft[$0]) > 0 }) else { continue }
            for d in draft.indices where rowAt[Array(draft[..<d])] == nil { rowAt[Array(draft[..<d])] = own[d] }
            kept.append(draft)
        }
        let sub = DraftTree(drafts: kept)
        let nodes = (0..<sub.count).map { s in sub.path(to: s).reduce(DraftTree.root) { tree.child(of: $0, token: $1)! } }
        let viewed = VerificationProblem(tree: sub, draft: nodes.indices.map { sub[$0].children.isEmpty ? nil : rowAt[sub.path(to: $0)] },
                                         target: nodes.map { problem.target[$0] }, blockLength: problem.blockLength)
        let outcome = inner.verify(viewed, choices: &choices)
        return VerificationOutcome(tree: tree, acceptedNode: nodes[outcome.acceptedNode], extraToken: outcome.extraToken)
    }
}
