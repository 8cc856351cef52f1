import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import Testing

/// The coordinator's engine scorer on the real SmolLM2 file (fetched by `make test`).
struct EngineScorerTests {
    /// A prompt longer than one pass goes into the request's cache in passes of its own; the
    /// tree's rows are bitwise those of one pass over the prompt and the draft.
    @Test func aLongPromptIsScoredBitwiseAsInOnePass() throws {
        let path = ModelStore().path(of: ModelCatalog.smolLM2).path
        try #require(FileManager.default.fileExists(atPath: path), "run `specula models fetch smollm2` (make test does)")
        let engine = try TransformerModel(path: path, threads: 2)
        let context = (0..<TransformerModel.passTokens + 20).map { ($0 * 37 + 11) % 4000 }
        let rows = EngineScorer(engine: engine).score(request: 1, context: context, tree: DraftTree(drafts: [[5, 6]]), sampling: SamplingParameters())
        let whole = engine.evaluate([.chain(context + [5, 6])], caches: [engine.makeCache()], logitsFrom: [context.count - 1])[0]
        #expect(rows.count == 3)
        for (node, row) in rows.enumerated() {
            #expect(row == SamplingParameters().distribution(logits: whole.logits[context.count - 1 + node]), "node \(node)")
        }
    }
}
