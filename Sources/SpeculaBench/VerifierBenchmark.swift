import Foundation
package import SpeculaCore
import SpeculaModel

/// `specula bench verifiers`: exact tokens per round of every verifier on a fixed set of toy pairs,
/// beside the SpecTr-GBV paper's claimed value, and the wall-clock cost of one verifier call at
/// production size (K = 4, γ = 8, 151,936-token vocabulary, 64-entry sparse drafts).
package enum VerifierBenchmark {
    /// One toy setting of the table.
    package struct ToySetting: Codable, Sendable {
        package var vocabulary: Int
        package var order: Int
        package var drafts: Int
        package var block: Int
        package var seed: UInt64
    }

    /// Exact expected tokens per round (accepted + 1) for each verifier in one setting.
    package struct ToyRow: Codable, Sendable {
        package var setting: ToySetting
        package var tokensPerRound: [String: Double]
        package var paperCeiling: Double
    }

    /// Time of one verifier call at production size.
    package struct CostRow: Codable, Sendable {
        package var verifier: String
        package var drafts: Int
        package var block: Int
        package var vocabulary: Int
        package var support: Int
        package var calls: Int
        package var meanMicroseconds: Double
        package var stddevMicroseconds: Double
    }

    /// One mixed setting: drafts from the pair's draft table, a second table and a prompt-lookup
    /// drafter (`RandomToyModels.mixedPools`) in one round.
    package struct MixedSetting: Codable, Sendable {
        package var vocabulary: Int
        package var order: Int
        package var first: Int
        package var second: Int
        package var lookup: Int
        package var block: Int
        package var seed: UInt64
        package var temperature: Double
    }

    /// Exact expected tokens per round of a mixed setting: each pool alone (its best verifier for
    /// one law: `multidraft-block`), the better of them, and the two verifiers for mixed drafts
    /// with the pools ordered best alone first (as the coordinator orders them by measured
    /// acceptance).
    package struct MixedRow: Codable, Sendable {
        package var setting: MixedSetting
        package var alone: [Double]
        package var bestAlone: Double
        package var mixedRRS: Double
        package var mixedBlock: Double
    }

    package struct Report: Codable, Sendable {
        package var toys: [ToyRow]
        package var mixed: [MixedRow]
        package var cost: [CostRow]

        package init(toys: [ToyRow], mixed: [MixedRow], cost: [CostRow]) {
            (self.toys, self.mixed, self.cost) = (toys, mixed, cost)
        }
    }

    package static let mixedSettings: [MixedSetting] = [
        MixedSetting(vocabulary: 3, order: 3, first: 1, second: 1, lookup: 1, block: 2, seed: 41, temperature: 1),
        MixedSetting(vocabulary: 3, order: 3, first: 2, second: 1, lookup: 0, block: 2, seed: 42, temperature: 1),
        MixedSetting(vocabulary: 4, order: 3, first: 1, second: 0, lookup: 1, block: 3, seed: 43, temperature: 1),
        MixedSetting(vocabulary: 4, order: 2, first: 2, second: 1, lookup: 1, block: 2, seed: 44, temperature: 1),
        MixedSetting(vocabulary: 3, order: 2, first: 1, second: 1, lookup: 1, block: 3, seed: 45, temperature: 0.6),
        MixedSetting(vocabulary: 4, order: 3, first: 1, second: 2, lookup: 1, block: 2, seed: 46, temperature: 0.6),
    ]

    package static func mixedTable(progress: (String) -> Void = { _ in }) -> [MixedRow] {
        mixedSettings.map { s in
            progress("mixed V=\(s.vocabulary) K=\(s.first)+\(s.second)+\(s.lookup) γ=\(s.block) seed=\(s.seed)")
            let (target, pools) = RandomToyModels.mixedPools(vocabularySize: s.vocabulary, order: s.order, seed: s.seed,
                                                             drafts: (s.first, s.second, s.lookup))
            let context = [0, 1, 2, 0, 1].map { $0 % s.vocabulary }
            func tokens(_ kind: VerifierKind, _ pools: [DraftPool]) -> Double {
                ExactAnalysis(sampler: SpeculativeSampler(target: target, pools: pools, verifier: kind.makeVerifier(),
                                                          sampling: SamplingParameters(temperature: s.temperature), blockLength: s.block))
                    .expectedTokensPerRound(context: context)
            }
            let used = pools.filter { $0.drafts > 0 }
            let alone = used.map { tokens(.multidraftBlock, [$0]) }
            let ordered = used.indices.sorted { alone[$0] > alone[$1] }.map { used[$0] }
            return MixedRow(setting: s, alone: alone, bestAlone: alone.max()!, mixedRRS: tokens(.mixedRRS, ordered),
                            mixedBlock: tokens(.mixedBlock, ordered))
        }
    }

    package static let toySettings: [ToySetting] = [
        ToySetting(vocabulary: 3, order: 3, drafts: 2, block: 2, seed: 21),
        ToySetting(vocabulary: 3, order: 3, drafts: 3, block: 2, seed: 22),
        ToySetting(vocabulary: 4, order: 3, drafts: 2, block: 2, seed: 23),
        ToySetting(vocabulary: 4, order: 3, drafts: 3, block: 2, seed: 24),
        ToySetting(vocabulary: 3, order: 3, drafts: 2, block: 3, seed: 25),
        ToySetting(vocabulary: 4, order: 2, drafts: 4, block: 2, seed: 26),
    ]

    /// The verifiers compared in the toy table (single-draft ones run with K = 1).
    package static let compared: [VerifierKind] = [.token, .block, .rrs, .rrsWithoutReplacement, .kseq, .traversal, .multidraftBlock, .spectrGBVPublished]

    package static func toyTable(progress: (String) -> Void = { _ in }) -> [ToyRow] {
        toySettings.map { s in
            progress("toy V=\(s.vocabulary) K=\(s.drafts) γ=\(s.block) seed=\(s.seed)")
            let pair = RandomToyModels.pair(vocabularySize: s.vocabulary, order: s.order, seed: s.seed)
            let context = [0, 1]
            func analysis(_ kind: VerifierKind) -> ExactAnalysis {
                ExactAnalysis(sampler: SpeculativeSampler(
                    target: pair.target, draft: pair.draft, verifier: kind.makeVerifier(),
                    drafts: kind.usesMultipleDrafts ? s.drafts : 1, blockLength: s.block))
            }
            var tokens: [String: Double] = [:]
            for kind in compared { tokens[kind.rawValue] = analysis(kind).expectedTokensPerRound(context: context) }
            return ToyRow(setting: s, tokensPerRound: tokens, paperCeiling: analysis(.multidraftBlock).paperCeiling(context: context))
        }
    }

    /// Times `calls` verifications of random production-size problems (built untimed), their
    /// drafts from `pools` laws (draft j from pool j mod `pools`).
    package static func cost(kind: VerifierKind, drafts: Int, block: Int, pools: Int = 1, vocabulary: Int = 151_936, support: Int = 64,
                             calls: Int = 200) -> CostRow {
        var stream = RandomStream(seed: 42, stream: 7)
        let problems = (0..<2).map { _ in
            randomProblem(drafts: drafts, block: block, pools: pools, vocabulary: vocabulary, support: support, stream: &stream)
        }
        var samples: [Double] = []
        var choices = StreamChoices(RandomStream(seed: 1, stream: 1))
        let verifier = kind.makeVerifier()
        var sink = 0
        for i in 0..<calls {
            let start = DispatchTime.now().uptimeNanoseconds
            sink &+= verifier.verify(problems[i % problems.count], choices: &choices).extraToken
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        }
        precondition(sink != Int.min)
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, samples.count - 1))
        return CostRow(verifier: pools > 1 ? "\(kind.rawValue) (\(pools) pools)" : kind.rawValue, drafts: drafts, block: block, vocabulary: vocabulary, support: support, calls: calls, meanMicroseconds: mean, stddevMicroseconds: variance.squareRoot())
    }

    /// K random drafts of γ tokens over a large vocabulary; the target rows put about half their
    /// mass on the draft support, the rest spread over the whole vocabulary.
    static func randomProblem(drafts: Int, block: Int, pools: Int = 1, vocabulary: Int, support: Int, stream: inout RandomStream) -> VerificationProblem {
        func sparseRow() -> SparseDistribution {
            var tokens = Set<Token>()
            while tokens.count < support { tokens.insert(Int(stream.next() % UInt64(vocabulary))) }
            let list = Array(tokens)
            return SparseDistribution(tokens: list, weights: list.map { _ in 0.01 + stream.nextUnit() })
        }
        var rows: [[Token]: SparseDistribution] = [:]
        func row(_ prefix: [Token], pool: Int = 0) -> SparseDistribution {
            let key = pool == 0 ? prefix : [-pool] + prefix
            if let r = rows[key] { return r }
            let r = sparseRow()
            rows[key] = r
            return r
        }
        var blocks: [[Token]] = []
        for j in 0..<drafts {
            var tokens: [Token] = []
            while tokens.count < block { tokens.append(row(tokens, pool: j % pools).sample(quantile: stream.nextUnit())) }
            blocks.append(tokens)
        }
        let tree = DraftTree(drafts: blocks)
        let poolRows = (0..<pools).map { k in
            (0..<tree.count).map { node in
                tree[node].children.contains { tree[$0].drafts.contains { $0 % pools == k } } ? row(tree.path(to: node), pool: k) : nil
            }
        }
        var draftRows: [SparseDistribution?] = []
        var targetRows: [DenseDistribution] = []
        for node in 0..<tree.count {
            let prefix = tree.path(to: node)
            let p = tree[node].children.first.map { row(prefix, pool: tree[$0].drafts[0] % pools) } ?? row(prefix)
            var weights = [Double](repeating: 0, count: vocabulary)
            for t in weights.indices { weights[t] = 0.5 / Double(vocabulary) }
            for (t, w) in zip(p.tokens, p.probabilities) { weights[t] += 0.5 * w * (0.5 + stream.nextUnit()) }
            targetRows.append(DenseDistribution(weights: weights))
            draftRows.append(tree[node].children.isEmpty ? nil : p)
        }
        let mixed = pools > 1 ? DraftPools(poolOfDraft: (0..<drafts).map { $0 % pools }, rows: poolRows) : nil
        return VerificationProblem(tree: tree, draft: draftRows, target: targetRows, blockLength: block, pools: mixed)
    }
}
