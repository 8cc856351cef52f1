import SpeculaCluster
import SpeculaCore
import SpeculaModel
import Testing

/// Exact enumeration of decoding while drafting's first step on toy pairs: K drafts of two tokens
/// from the draft, the target's first token coupled with their first tokens, the drafts that begin
/// with it kept. The token must follow the target's row, and given the token and how many drafts
/// were kept, their second tokens must be independent draws from the draft's row after that
/// token (all to 1e-12) — the law the round's verification then relies on. The negative control
/// lets the coupling see the drafts' second tokens too, and must break the second property.
struct FirstTokenCouplingTests {
    struct Setting: CustomTestStringConvertible, Sendable {
        var kind: VerifierKind
        var drafts: Int
        var seed: UInt64
        var temperature: Double

        var testDescription: String { "\(kind.rawValue) K=\(drafts) seed=\(seed) τ=\(temperature)" }
    }

    static let settings: [Setting] = [
        Setting(kind: .token, drafts: 1, seed: 1, temperature: 1),
        Setting(kind: .block, drafts: 1, seed: 2, temperature: 1),
        Setting(kind: .multidraftBlock, drafts: 2, seed: 3, temperature: 1),
        Setting(kind: .multidraftBlock, drafts: 3, seed: 4, temperature: 0.6),
        Setting(kind: .kseq, drafts: 2, seed: 5, temperature: 1),
        Setting(kind: .rrsWithoutReplacement, drafts: 3, seed: 6, temperature: 1),
    ]

    static let context = [0, 1]

    /// The law of [t, second tokens of the kept drafts in draft order]. `seesSecondTokens`: the
    /// wrong variant, coupling on the drafts' whole two-token tree.
    static func law(_ s: Setting, seesSecondTokens: Bool = false) -> (law: [[Token]: Double], pair: (target: NGramModel, draft: NGramModel)) {
        let pair = RandomToyModels.pair(vocabularySize: 3, order: 3, seed: s.seed)
        let sampling = SamplingParameters(temperature: s.temperature)
        let targetRow = pair.target.distribution(after: context, sampling: sampling)
        let firstRow = SparseDistribution(pair.draft.distribution(after: context, sampling: sampling))
        let law = ChoiceEnumerator.law { choices -> [Token] in
            var drafts: [[Token]] = []
            var rows: [[SparseDistribution]] = []
            for _ in 0..<s.drafts {
                let first = choices.draw(from: firstRow)
                let secondRow = SparseDistribution(pair.draft.distribution(after: context + [first], sampling: sampling))
                drafts.append([first, choices.draw(from: secondRow)])
                rows.append([firstRow, secondRow])
            }
            let token: Token
            if seesSecondTokens {
                let merged = PassTree(drafts: drafts, rows: rows)
                let problem = merged.problem(target: Array(repeating: targetRow, count: merged.tree.count), blockLength: 2)
                token = s.kind.makeVerifier().verify(problem, choices: &choices).emittedTokens[0]
            } else {
                token = FirstTokenCoupling.token(verifier: s.kind.makeVerifier(), targetRow: targetRow,
                                                 firsts: drafts.map { (token: $0[0], row: firstRow, pool: 0) }, choices: &choices)
            }
            return [token] + drafts.filter { $0[0] == token }.map { $0[1] }
        }
        return (law, pair)
    }

    /// Largest gap between the law and "given t and the number kept, i.i.d. second tokens".
    static func independenceGap(_ law: [[Token]: Double], _ s: Setting, _ draft: NGramModel) -> Double {
        let sampling = SamplingParameters(temperature: s.temperature)
        var byTokenAndCount: [[Int]: Double] = [:]
        for (result, p) in law { byTokenAndCount[[result[0], result.count - 1], default: 0] += p }
        var gap = 0.0
        for (result, p) in law {
            let second = draft.distribution(after: context + [result[0]], sampling: sampling)
            let expected = result.dropFirst().reduce(byTokenAndCount[[result[0], result.count - 1]]!) { $0 * second.probability(of: $1) }
            gap = max(gap, abs(p - expected))
        }
        return gap
    }

    @Test(arguments: settings)
    func theTokenIsTheTargetsAndTheKeptDraftsKeepTheirLaw(setting: Setting) {
        let (law, pair) = Self.law(setting)
        #expect(abs(law.values.reduce(0, +) - 1) < 1e-12)
        let targetRow = pair.target.distribution(after: Self.context, sampling: SamplingParameters(temperature: setting.temperature))
        for token in 0..<3 {
            let marginal = law.filter { $0.key[0] == token }.values.reduce(0, +)
            #expect(abs(marginal - targetRow.probability(of: token)) < 1e-12, "P(t = \(token))")
        }
        #expect(Self.independenceGap(law, setting, pair.draft) < 1e-12)
        // The coupling is worth having: some draft is kept more often than with an independent t.
        let kept = law.filter { $0.key.count > 1 }.values.reduce(0, +)
        let firstRow = pair.draft.distribution(after: Self.context, sampling: SamplingParameters(temperature: setting.temperature))
        let independent = (0..<3).reduce(0.0) { total, t in
            total + targetRow.probability(of: t) * (1 - (1 - firstRow.probability(of: t)).power(setting.drafts))
        }
        #expect(kept >= independent - 1e-12, "kept \(kept) vs independent \(independent)")
    }

    @Test func aCouplingThatSeesTheSecondTokensIsCaught() {
        let setting = Setting(kind: .block, drafts: 1, seed: 2, temperature: 1)
        let (law, pair) = Self.law(setting, seesSecondTokens: true)
        #expect(Self.independenceGap(law, setting, pair.draft) > 1e-3)
    }

    /// Drafts of three laws (two draft tables and prompt lookup) coupled by `mixed-block`: the
    /// largest gaps between the token's law and the target's row, and between the kept drafts'
    /// second tokens and independent draws from each one's own pool's row after the token (given
    /// the token and which drafts were kept). `asOneLaw`: the negative control, coupling them as
    /// drafts of one law (pool 0 for all).
    static func mixedGaps(temperature: Double, asOneLaw: Bool = false) -> (token: Double, independence: Double) {
        let (target, pools) = RandomToyModels.mixedPools(vocabularySize: 3, order: 3, seed: 7, drafts: (1, 1, 1))
        let sampling = SamplingParameters(temperature: temperature)
        let context = [0, 1, 0]
        let targetRow = target.distribution(after: context, sampling: sampling)
        let row = { (k: Int, prefix: [Token]) in pools[k].row(after: context + prefix, sampling: sampling)! }
        // [t, then each draft's second token where it was kept, −1 where not].
        let law = ChoiceEnumerator.law { choices -> [Token] in
            let drafts = pools.indices.map { k -> [Token] in
                let first = choices.draw(from: row(k, []))
                return [first, choices.draw(from: row(k, [first]))]
            }
            let firsts = drafts.indices.map { (token: drafts[$0][0], row: row($0, []), pool: asOneLaw ? 0 : $0) }
            let token = FirstTokenCoupling.token(verifier: VerifierKind.mixedBlock.makeVerifier(), targetRow: targetRow, firsts: firsts,
                                                 choices: &choices)
            return [token] + drafts.map { $0[0] == token ? $0[1] : -1 }
        }
        let tokenGap = (0..<3).map { t in abs(law.filter { $0.key[0] == t }.values.reduce(0, +) - targetRow.probability(of: t)) }.max()!
        let given = { (result: [Token]) in [result[0]] + result.dropFirst().map { $0 >= 0 ? 1 : 0 } }
        var byTokenAndKept: [[Int]: Double] = [:]
        for (result, p) in law { byTokenAndKept[given(result), default: 0] += p }
        let independenceGap = law.map { result, p in
            let expected = result.indices.dropFirst().filter { result[$0] >= 0 }.reduce(byTokenAndKept[given(result)]!) { total, j in
                total * row(j - 1, [result[0]]).probability(of: result[j])
            }
            return abs(p - expected)
        }.max()!
        return (tokenGap, independenceGap)
    }

    @Test(arguments: [1.0, 0.6])
    func mixedDraftsKeepTheirOwnLaws(temperature: Double) {
        let gaps = Self.mixedGaps(temperature: temperature)
        #expect(gaps.token < 1e-12 && gaps.independence < 1e-12, "\(gaps)")
    }

    @Test func mixedDraftsCoupledAsOneLawAreCaught() {
        let gaps = Self.mixedGaps(temperature: 1, asOneLaw: true)
        #expect(max(gaps.token, gaps.independence) > 1e-3, "\(gaps)")
    }
}
