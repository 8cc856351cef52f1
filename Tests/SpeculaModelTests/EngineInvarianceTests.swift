import Foundation
import SpeculaKernels
import SpeculaModel
import Testing

/// Batch invariance and rollback of the engine on the real SmolLM2 file (fetched by `make test`),
/// at every kernel level this CPU runs: a pass equals token-by-token decoding bitwise within one
/// level.
struct EngineInvarianceTests {
    static let levels = KernelLevel.available(on: .current)

    static func engine(_ level: KernelLevel) throws -> TransformerModel {
        let store = ModelStore()
        let path = store.path(of: ModelCatalog.smolLM2).path
        try #require(FileManager.default.fileExists(atPath: path), "run `specula models fetch smollm2` (make test does)")
        return try TransformerModel(path: path, threads: 2, kernels: .of(level))
    }

    @Test(arguments: levels)
    func treeNodesGetBitwiseTheLogitsOfSequentialDecoding(level: KernelLevel) throws {
        Self.expectTreeNodesMatchSequentialDecoding(try Self.engine(level))
    }

    /// A tree pass gives each node bitwise the logits of decoding its branch token by token.
    static func expectTreeNodesMatchSequentialDecoding(_ engine: TransformerModel) {
        var cache = engine.makeCache()
        _ = engine.decode([1, 504, 3158], cache: &cache)
        // Two branches sharing a first token, plus a second root: [9, 10, 11], [9, 12], [13].
        let tree = TokenTree(tokens: [9, 10, 11, 12, 13], parents: [-1, 0, 1, 0, -1])
        let result = engine.evaluate([tree], caches: [cache])[0]
        for (branch, nodes) in [([9, 10, 11], [0, 1, 2]), ([9, 12], [0, 3]), ([13], [4])] {
            var sequential = cache
            for (token, node) in zip(branch, nodes) {
                let logits = engine.decode([token], cache: &sequential)
                #expect(logits == result.logits[node], "node \(node) differs from sequential decoding")
            }
        }
    }

    @Test(arguments: levels)
    func severalSequencesInOnePassMatchTheirSeparatePasses(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        var a = engine.makeCache(), b = engine.makeCache()
        _ = engine.decode([1, 2, 3, 4], cache: &a)
        _ = engine.decode([5, 6], cache: &b)
        let trees = [TokenTree.chain([7, 8]), TokenTree(tokens: [9, 10, 11], parents: [-1, -1, 0])]
        let together = engine.evaluate(trees, caches: [a, b])
        let alone = [engine.evaluate([trees[0]], caches: [a])[0], engine.evaluate([trees[1]], caches: [b])[0]]
        #expect(together[0].logits == alone[0].logits)
        #expect(together[1].logits == alone[1].logits)
    }

    @Test(arguments: levels)
    func rollbackThenRerunIsBitwiseAFreshRun(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        var cache = engine.makeCache()
        _ = engine.decode([1, 504, 3158, 314], cache: &cache)
        var rolled = cache
        _ = engine.decode([253, 1745, 30], cache: &rolled)
        rolled.truncate(to: 4)
        #expect(rolled.count == 4)
        let again = engine.decode([99], cache: &rolled)
        var fresh = engine.makeCache()
        let direct = engine.decode([1, 504, 3158, 314, 99], cache: &fresh)
        #expect(again == direct)
    }

    @Test(arguments: levels)
    func committingTheAcceptedBranchEqualsDecodingIt(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        var cache = engine.makeCache()
        _ = engine.decode([1, 504], cache: &cache)
        let tree = TokenTree(tokens: [10, 11, 12], parents: [-1, -1, 1])
        let result = engine.evaluate([tree], caches: [cache])[0]
        var committed = cache
        engine.commit(result, nodes: [1, 2], to: &committed)
        var decoded = cache
        _ = engine.decode([11, 12], cache: &decoded)
        #expect(engine.decode([5], cache: &committed) == engine.decode([5], cache: &decoded))
    }

    /// Forks across page boundaries (pages of 32 positions): each fork's appends copy only the
    /// shared page they write to, never change the other fork, and roll back across pages.
    @Test(arguments: levels)
    func forksSharePagesWithoutSeeingEachOthersWrites(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        let context = (0..<45).map { ($0 * 37 + 11) % 4000 }
        func fresh(_ tokens: [Int]) -> [Float] {
            var cache = engine.makeCache()
            return engine.decode(tokens, cache: &cache)
        }
        var original = engine.makeCache()
        _ = engine.decode(context, cache: &original)
        let bytes = original.byteCount
        var fork = original
        #expect(engine.decode([7, 8], cache: &fork) == fresh(context + [7, 8]))
        #expect(original.count == 45 && original.byteCount == bytes)
        #expect(engine.decode([9], cache: &original) == fresh(context + [9]))
        fork.truncate(to: 30)
        #expect(engine.decode([5, 6], cache: &fork) == fresh(Array(context.prefix(30)) + [5, 6]))
        #expect(engine.decode([10], cache: &original) == fresh(context + [9, 10]))
    }

    /// Logits asked from a node on are bitwise those of a full evaluation; the nodes before have
    /// none (a prompt's tokens before its last).
    @Test(arguments: levels)
    func logitsFromANodeOnMatchTheFullEvaluation(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        var cache = engine.makeCache()
        _ = engine.decode([1, 504], cache: &cache)
        let trees = [TokenTree.chain([3158, 314, 253, 1745]), TokenTree(tokens: [9, 10, 11], parents: [-1, 0, 0])]
        let full = engine.evaluate(trees, caches: [cache, cache])
        let partial = engine.evaluate(trees, caches: [cache, cache], logitsFrom: [3, 1])
        #expect(partial[0].logits.prefix(3).allSatisfy(\.isEmpty) && partial[0].logits[3] == full[0].logits[3])
        #expect(partial[1].logits[0].isEmpty && Array(partial[1].logits[1...]) == Array(full[1].logits[1...]))
    }

    /// A chain longer than one pass (`TransformerModel.passTokens`) decodes in several passes,
    /// bitwise as one.
    @Test(arguments: levels)
    func longChainsDecodeInPassesBitwiseAsOne(level: KernelLevel) throws {
        let engine = try Self.engine(level)
        let tokens = (0..<TransformerModel.passTokens + 9).map { ($0 * 37 + 11) % 4000 }
        let whole = engine.evaluate([.chain(tokens)], caches: [engine.makeCache()], logitsFrom: [tokens.count - 1])[0]
        var cache = engine.makeCache()
        #expect(engine.decode(tokens, cache: &cache) == whole.logits.last)
        #expect(cache.count == tokens.count)
    }
}
