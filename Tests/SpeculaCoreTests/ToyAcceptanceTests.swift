import SpeculaCore
import SpeculaModel
import Testing

/// Acceptance figures that can be checked by hand.
struct ToyAcceptanceTests {
    /// p = (2/3, 1/3), q = (1/3, 2/3), γ = 2 (verifiers.md).
    static func analysis(_ kind: VerifierKind, drafts: Int = 1) throws -> ExactAnalysis {
        let target = try NGramModel(vocabularySize: 2, order: 1, table: [[]: [1.0 / 3, 2.0 / 3]])
        let draft = try NGramModel(vocabularySize: 2, order: 1, table: [[]: [2.0 / 3, 1.0 / 3]])
        return ExactAnalysis(sampler: SpeculativeSampler(
            target: target, draft: draft, verifier: kind.makeVerifier(), drafts: drafts, blockLength: 2))
    }

    @Test func tokenLevelAcceptsTenNinthsOnTheTwoTokenToy() throws {
        let accepted = try Self.analysis(.token).expectedTokensPerRound(context: []) - 1
        #expect(abs(accepted - 10.0 / 9) < 1e-12)
    }

    @Test func blockVerificationAcceptsElevenNinthsOnTheTwoTokenToy() throws {
        let accepted = try Self.analysis(.block).expectedTokensPerRound(context: []) - 1
        #expect(abs(accepted - 11.0 / 9) < 1e-12)
    }

    @Test func multidraftBlockEqualsBlockAtOneDraft() {
        for seed in UInt64(1)...6 {
            let pair = RandomToyModels.pair(vocabularySize: 3, order: 3, seed: seed)
            func law(_ kind: VerifierKind) -> [[Token]: Double] {
                ExactAnalysis(sampler: SpeculativeSampler(
                    target: pair.target, draft: pair.draft, verifier: kind.makeVerifier(), drafts: 1, blockLength: 3))
                    .roundLaw(context: [2, 0])
            }
            let tv = ExactAnalysis.totalVariation(law(.multidraftBlock), law(.block))
            #expect(tv < 1e-12, "seed \(seed): one-round laws differ by \(tv)")
        }
    }

    @Test func multidraftBlockAcceptsAtLeastAsMuchAsKSeqAndBlock() {
        var table: [String] = []
        var losses: [String] = []
        for seed in UInt64(1)...12 {
            let vocabulary = seed % 2 == 0 ? 4 : 3
            let pair = RandomToyModels.pair(vocabularySize: vocabulary, order: 3, seed: seed)
            func tokens(_ kind: VerifierKind, drafts: Int) -> Double {
                ExactAnalysis(sampler: SpeculativeSampler(
                    target: pair.target, draft: pair.draft, verifier: kind.makeVerifier(), drafts: drafts, blockLength: 2))
                    .expectedTokensPerRound(context: [1, 0])
            }
            let mdb = tokens(.multidraftBlock, drafts: 3)
            let kseq = tokens(.kseq, drafts: 3)
            let block = tokens(.block, drafts: 1)
            table.append("V=\(vocabulary) seed=\(seed): multidraft-block \(mdb) kseq \(kseq) block \(block)")
            #expect(mdb >= block - 1e-12, "V=\(vocabulary) seed \(seed): multidraft-block \(mdb) < block \(block)")
            if mdb < kseq - 1e-12 { losses.append("V=\(vocabulary) seed=\(seed)") }
        }
        // The issue allows an occasional loss to K-SEQ on V = 3; more than one means a regression.
        #expect(losses.count <= 1, "multidraft-block lost to kseq on \(losses)\n\(table.joined(separator: "\n"))")
    }
}
