import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import Testing

/// The coordinator's engine scorer on the real SmolLM2 file (fetched by `make test`).
struct EngineScorerTests {
    static func engine() throws -> TransformerModel {
        let path = ModelStore().path(of: ModelCatalog.smolLM2).path
        try #require(FileManager.default.fileExists(atPath: path), "run `specula models fetch smollm2` (make test does)")
        return try TransformerModel(path: path, threads: 2)
    }

    /// A prompt longer than one pass goes into the request's cache in passes of its own; the
    /// tree's rows are bitwise those of one pass over the prompt and the draft.
    @Test func aLongPromptIsScoredBitwiseAsInOnePass() throws {
        let engine = try Self.engine()
        let context = (0..<TransformerModel.passTokens + 20).map { ($0 * 37 + 11) % 4000 }
        let rows = EngineScorer(engine: engine).score(request: 1, context: context, tree: DraftTree(drafts: [[5, 6]]), sampling: SamplingParameters())
        let whole = engine.evaluate([.chain(context + [5, 6])], caches: [engine.makeCache()], logitsFrom: [context.count - 1])[0]
        #expect(rows.count == 3)
        for (node, row) in rows.enumerated() {
            #expect(row == SamplingParameters().distribution(logits: whole.logits[context.count - 1 + node]), "node \(node)")
        }
    }

    /// Greedy decoding of `turns` (each a continuation of the one before, as a chat's turns are),
    /// one request per turn, with drafts accepted along the way; returns each turn's rows.
    static func chat(_ scorer: EngineScorer, turns: [[Token]], tokens: Int) -> [[DenseDistribution]] {
        var context: [Token] = []
        var rows: [[DenseDistribution]] = []
        for (request, turn) in turns.enumerated() {
            context += turn
            var turnRows: [DenseDistribution] = []
            for _ in 0..<tokens {
                // A two-token draft of the context's own last tokens, accepted in part.
                let draft = Array(context.suffix(2))
                let scored = scorer.score(request: UInt64(request + 1), context: context, tree: DraftTree(drafts: [draft]), sampling: SamplingParameters())
                let next = scored[0].probabilities.indices.max { scored[0].probabilities[$0] < scored[0].probabilities[$1] }!
                let accepted = next == draft[0] ? [1] : []
                scorer.accept(request: UInt64(request + 1), nodes: accepted)
                context += accepted.isEmpty ? [next] : [draft[0]]
                turnRows += scored
            }
            rows.append(turnRows)
            scorer.release(request: UInt64(request + 1))
        }
        return rows
    }

    /// A second turn starts from the first turn's kept cache and computes bitwise the rows a
    /// scorer without a prompt cache computes, reading everything again.
    @Test func aPromptCacheReusesATurnsCacheWithBitwiseTheSameRows() throws {
        let engine = try Self.engine()
        let first = (0..<40).map { ($0 * 37 + 11) % 4000 }, second = (0..<9).map { ($0 * 53 + 7) % 4000 }
        let cached = EngineScorer(engine: engine, promptCacheBytes: 1 << 30)
        let fresh = EngineScorer(engine: engine)
        #expect(Self.chat(cached, turns: [first, second], tokens: 6) == Self.chat(fresh, turns: [first, second], tokens: 6))
        #expect(cached.promptCacheEntries == 1, "the second turn replaced the first, whose prefix it holds")
        #expect(fresh.promptCacheEntries == 0)
    }

    /// With no room, nothing is kept.
    @Test func aPromptCacheKeepsNothingPastItsBudget() throws {
        let scorer = EngineScorer(engine: try Self.engine(), promptCacheBytes: 1)
        _ = Self.chat(scorer, turns: [(0..<40).map { $0 }], tokens: 2)
        #expect(scorer.promptCacheEntries == 0)
    }
}
