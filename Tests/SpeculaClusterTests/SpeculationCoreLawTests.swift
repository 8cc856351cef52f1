import SpeculaCluster
import SpeculaCore
import SpeculaModel
import Testing

/// The output law of the real coordinator logic (`SpeculationCore`), exactly: for every order of
/// draft-token arrivals and pass completions up to a length (then a fixed completion policy),
/// every branch of the drafts' and verifier's randomness is enumerated, and the law of the
/// client's whole output must be the target's to 1e-12. The negative controls — draft rows
/// misaligned after a pass, a worker shipping rows it did not draw from — must be caught.
struct SpeculationCoreLawTests {
    /// Every script of `length` events over K drafts' deliveries and pass completions.
    static func scripts(drafts: Int, length: Int) -> [[CoreScript.Event]] {
        let alphabet = (0..<drafts).map(CoreScript.Event.deliver) + [.finishPass]
        var scripts: [[CoreScript.Event]] = [[]]
        for _ in 0..<length { scripts = scripts.flatMap { script in alphabet.map { script + [$0] } } }
        return scripts
    }

    /// The largest gap between the core's output law and the target's over the scripts, and the
    /// script where it is.
    static func largestGap(_ core: CoreScript, verifier: VerifierKind, drafts: Int, blockLength: Int, maxTokens: Int,
                           scriptLength: Int) -> (gap: Double, script: [CoreScript.Event]) {
        let exact = core.targetLaw(maxTokens: maxTokens)
        var worst = (gap: 0.0, script: [CoreScript.Event]())
        for script in scripts(drafts: drafts, length: scriptLength) {
            let law = core.law(script, verifier: verifier, drafts: drafts, blockLength: blockLength, maxTokens: maxTokens)
            let total = abs(law.values.reduce(0, +) - 1)
            let gap = Set(law.keys).union(exact.keys).map { abs((law[$0] ?? 0) - (exact[$0] ?? 0)) }.max() ?? 0
            if max(gap, total) > worst.gap { worst = (max(gap, total), script) }
        }
        return worst
    }

    static let lossless: [(VerifierKind, Int)] = [
        (.token, 1), (.block, 1), (.multidraftBlock, 1),
        (.multidraftBlock, 2), (.traversal, 2), (.kseq, 2), (.rrs, 2), (.rrsWithoutReplacement, 2),
        (.multidraftBlock, 3), (.kseq, 3), (.rrsWithoutReplacement, 3),
    ]

    @Test(arguments: lossless)
    func everyArrivalOrderKeepsTheTargetLaw(verifier: VerifierKind, drafts: Int) throws {
        let core = try CoreScript(seed: 3, vocabulary: drafts == 1 ? 3 : 2)
        let worst = Self.largestGap(core, verifier: verifier, drafts: drafts, blockLength: drafts == 1 ? 2 : 1, maxTokens: 2, scriptLength: 3)
        #expect(worst.gap < 1e-12, "\(verifier) K=\(drafts): gap \(worst.gap) under \(worst.script)")
    }

    @Test(arguments: lossless)
    func draftsThatEndAtEndOfSequenceKeepTheTargetLaw(verifier: VerifierKind, drafts: Int) throws {
        let core = try CoreScript(seed: 5, vocabulary: drafts == 1 ? 3 : 2, eos: 1, prompt: [0, 0])
        let worst = Self.largestGap(core, verifier: verifier, drafts: drafts, blockLength: drafts == 1 ? 2 : 1, maxTokens: 3, scriptLength: 3)
        #expect(worst.gap < 1e-12, "\(verifier) K=\(drafts): gap \(worst.gap) under \(worst.script)")
    }

    /// A coordinator that starts from a CPU's pass cost (each token costs as much as the pass's
    /// fixed part) has its batch plan cut drafts short or leave them out, pass by pass, from its
    /// estimates; the output law stays the target's.
    static func cpuLine() -> PassCostLine {
        var line = PassCostLine()
        line.observe(tokens: 1, micros: 2_000)
        line.observe(tokens: 5, micros: 6_000)
        return line
    }

    /// (verifier, K, vocabulary, γ): settings where the plan does cut drafts.
    @Test(arguments: [(VerifierKind.block, 1, 3, 2), (.multidraftBlock, 3, 2, 1)])
    func draftsCutByTheBatchPlanKeepTheTargetLaw(verifier: VerifierKind, drafts: Int, vocabulary: Int, blockLength: Int) throws {
        var core = try CoreScript(seed: 3, vocabulary: vocabulary)
        core.options.initialPassCost = Self.cpuLine()
        let worst = Self.largestGap(core, verifier: verifier, drafts: drafts, blockLength: blockLength, maxTokens: 2, scriptLength: 3)
        #expect(worst.gap < 1e-12, "\(verifier) K=\(drafts): gap \(worst.gap) under \(worst.script)")
        let deferred = core.options.metrics.render().split(separator: "\n").first { $0.hasPrefix("specula_draft_tokens_deferred_total ") }
        #expect((deferred?.split(separator: " ").last).flatMap { Double($0) } ?? 0 > 0, "the plan cut drafts in some runs")
    }

    /// Drafting weighed against plain batching after every pass (epochs of one pass): the
    /// drafts of an adaptive request stop, or its next round has none, by what the passes before
    /// yielded; the output law stays the target's.
    @Test func draftsStoppedAndResumedByThePayoffKeepTheTargetLaw() throws {
        var core = try CoreScript(seed: 3, vocabulary: 2)
        core.adaptive = true
        (core.options.limits.maxDrafts, core.options.limits.maxBlockLength) = (1, 2)
        core.options.draftingPayoff = DraftingPayoff(settlePasses: 0, epochPasses: 1, clearWin: .infinity)
        let worst = Self.largestGap(core, verifier: .multidraftBlock, drafts: 1, blockLength: 2, maxTokens: 3, scriptLength: 3)
        #expect(worst.gap < 1e-12, "gap \(worst.gap) under \(worst.script)")
        let metrics = core.options.metrics.render().split(separator: "\n")
        let changes = metrics.filter { $0.hasPrefix("specula_drafting_mode_changes_total{") }
        #expect(changes.count == 2, "both modes taken in some runs: \(changes)")
        let verified = metrics.first { $0.hasPrefix("specula_spec_decode_num_draft_tokens_total ") }
        #expect((verified?.split(separator: " ").last).flatMap { Double($0) } ?? 0 > 0, "draft tokens were verified")
    }

    /// A draft token left out of a pass is still verified (coupled with the target's next
    /// token), so a cut that reads the content only delays it; a draft dropped for its content
    /// is what breaks the law.
    @Test func draftsDroppedForTheirContentAreCaught() throws {
        var core = try CoreScript(seed: 3, vocabulary: 3)
        core.options.dropsDraftsWithTokenForTesting = 1
        let worst = Self.largestGap(core, verifier: .block, drafts: 1, blockLength: 2, maxTokens: 2, scriptLength: 2)
        #expect(worst.gap > 1e-3, "gap \(worst.gap)")
    }

    @Test func draftRowsMisalignedAfterAPassAreCaught() throws {
        var core = try CoreScript(seed: 3)
        core.options.misalignsDraftRows = true
        let worst = Self.largestGap(core, verifier: .block, drafts: 1, blockLength: 2, maxTokens: 2, scriptLength: 2)
        #expect(worst.gap > 1e-3, "gap \(worst.gap)")
    }

    @Test func aWorkerShippingRowsItDidNotDrawFromIsCaught() throws {
        var core = try CoreScript(seed: 3, vocabulary: 2)
        core.workerFault = .wrongRows
        let worst = Self.largestGap(core, verifier: .multidraftBlock, drafts: 2, blockLength: 1, maxTokens: 2, scriptLength: 3)
        #expect(worst.gap > 1e-3, "gap \(worst.gap)")
    }
}
