import SpeculaCluster
import SpeculaCore
import SpeculaModel
import Testing

/// Exact enumeration of the coordinator's pass structure on toy pairs: K drafts stream two tokens
/// each; a pass verifies their first tokens (a tree of depth 1); when it accepts to a leaf, the
/// verifier's bonus token is dropped and the next token is drawn from the leaf's target row
/// coupled with the continuing drafts' second tokens (`FirstTokenCoupling`); otherwise the
/// verifier's correction is the second token's predecessor and the next token comes from the
/// target alone. The law of the first two tokens must be the target's, to 1e-12. The negative
/// control couples with the leaf's parent row (the row the pass scored for the first token) and
/// must be caught.
struct StreamedPassLawTests {
    static let context = [1, 0]

    static func law(kind: VerifierKind, drafts: Int, seed: UInt64, temperature: Double, wrongRow: Bool = false) -> (law: [[Token]: Double], target: NGramModel) {
        let pair = RandomToyModels.pair(vocabularySize: 3, order: 3, seed: seed)
        let sampling = SamplingParameters(temperature: temperature)
        let targetRow = { (tokens: [Token]) in pair.target.distribution(after: context + tokens, sampling: sampling) }
        let draftRow = { (tokens: [Token]) in SparseDistribution(pair.draft.distribution(after: context + tokens, sampling: sampling)) }
        let law = ChoiceEnumerator.law { choices -> [Token] in
            var streams: [[Token]] = []
            for _ in 0..<drafts {
                let first = choices.draw(from: draftRow([]))
                streams.append([first, choices.draw(from: draftRow([first]))])
            }
            let (tree, rows, _) = RoundTree.build(drafts: streams.map { [$0[0]] }, rows: streams.map { _ in [draftRow([])] })
            let problem = VerificationProblem(tree: tree, draft: rows, target: (0..<tree.count).map { targetRow(tree.path(to: $0)) }, blockLength: 1)
            let verifier = kind.makeVerifier()
            let outcome = verifier.verify(problem, choices: &choices)
            guard outcome.acceptedLength == 1 else {
                let tokens = outcome.emittedTokens
                return tokens + [choices.draw(from: SparseDistribution(targetRow(tokens)))]
            }
            let first = outcome.acceptedTokens[0]
            let continuing = streams.filter { $0[0] == first }.map { (token: $0[1], row: draftRow([first])) }
            let row = wrongRow ? targetRow([]) : targetRow([first])
            return [first, FirstTokenCoupling.token(verifier: verifier, targetRow: row, firsts: continuing, choices: &choices)]
        }
        return (law, pair.target)
    }

    static func largestGap(_ law: [[Token]: Double], target: NGramModel, temperature: Double) -> Double {
        let sampling = SamplingParameters(temperature: temperature)
        var gap = 0.0
        for a in 0..<3 {
            for b in 0..<3 {
                let exact = target.distribution(after: context, sampling: sampling).probability(of: a)
                    * target.distribution(after: context + [a], sampling: sampling).probability(of: b)
                gap = max(gap, abs((law[[a, b]] ?? 0) - exact))
            }
        }
        return gap
    }

    @Test(arguments: [(VerifierKind.token, 1, 1.0), (.block, 1, 1.0), (.multidraftBlock, 2, 1.0), (.multidraftBlock, 3, 0.6), (.kseq, 2, 1.0),
                      (.rrsWithoutReplacement, 2, 1.0)])
    func twoTokensFollowTheTargetLaw(kind: VerifierKind, drafts: Int, temperature: Double) {
        for seed: UInt64 in 1...3 {
            let (law, target) = Self.law(kind: kind, drafts: drafts, seed: seed, temperature: temperature)
            #expect(abs(law.values.reduce(0, +) - 1) < 1e-12)
            #expect(Self.largestGap(law, target: target, temperature: temperature) < 1e-12, "seed \(seed)")
        }
    }

    @Test func couplingWithTheWrongRowIsCaught() {
        let (law, target) = Self.law(kind: .block, drafts: 1, seed: 2, temperature: 1, wrongRow: true)
        #expect(Self.largestGap(law, target: target, temperature: 1) > 1e-3)
    }
}
