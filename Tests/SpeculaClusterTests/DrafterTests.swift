import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet
import Testing

/// Drafting several blocks in lockstep (one batched engine pass per step) on the real SmolLM2
/// file (fetched by `make test`).
struct DrafterTests {
    static func smolLM2() throws -> ClusterModel {
        let path = ModelStore().path(of: ModelCatalog.smolLM2).path
        try #require(FileManager.default.fileExists(atPath: path), "run `specula models fetch smollm2` (make test does)")
        return try ClusterModel.load(path)
    }

    /// Each block of a lockstep draft is the block its stream gives alone (tokens and shipped
    /// rows), drafted by a fresh model so that no cached sequence is shared between the two.
    @Test func blocksDraftedTogetherAreTheBlocksDraftedAlone() throws {
        let context = [1, 504, 3158, 314, 99]
        let streams = (0..<3).map { RandomStream(seed: 7, stream: UInt64($0)) }
        let sampling = SamplingParameters(temperature: 1.3)
        let together = Drafter(model: try Self.smolLM2()).blocks(after: context, length: 5, sampling: sampling, maxSupport: 64, streams: streams)
        let alone = Drafter(model: try Self.smolLM2())
        #expect(together.count == 3)
        for (stream, block) in zip(streams, together) {
            let single = alone.blocks(after: context, length: 5, sampling: sampling, maxSupport: 64, streams: [stream])[0]
            #expect(block.tokens.count == 5)
            #expect(block.tokens == single.tokens)
            #expect(block.rows == single.rows)
        }
        #expect(Set(together.map(\.tokens)).count > 1, "three streams at temperature 1.3 should not all draw the same block")
    }

    /// The batched rows of contexts in every state of the cache (new, one token past a cached
    /// sequence, cached, repeated) are bitwise the rows asked for one at a time.
    @Test func batchedRowsAreTheRowsAskedOneAtATime() throws {
        let model = try Self.smolLM2(), fresh = try Self.smolLM2()
        let batched = try #require(model.model as? EngineSequenceModel), single = try #require(fresh.model as? EngineSequenceModel)
        _ = batched.logits(after: [1, 504, 3158])
        let contexts = [[1, 504, 3158], [1, 504, 3158, 314], [7, 8, 9, 10], [1, 504, 3158, 314], [42]]
        let rows = batched.logits(after: contexts)
        for (context, row) in zip(contexts, rows) {
            #expect(row == single.logits(after: context), "context \(context)")
        }
    }

    /// Drafting keeps the context and one sequence per draft cached, not one per drafted token,
    /// so the contexts of many requests stay cached between their rounds.
    @Test func draftingCachesOneSequencePerDraftNotPerToken() throws {
        let model = try Self.smolLM2()
        let engine = try #require(model.model as? EngineSequenceModel)
        let contexts = (0..<6).map { [1, 504, 3158, 10 + $0] }
        for context in contexts {
            _ = Drafter(model: model).blocks(after: context, length: 6, sampling: SamplingParameters(temperature: 1.3), maxSupport: 64,
                                            streams: (0..<3).map { RandomStream(seed: 5, stream: UInt64($0)) })
        }
        #expect(engine.cachedSequences <= contexts.count * 4, "\(engine.cachedSequences) sequences for \(contexts.count) contexts of 3 drafts")
    }

    /// A draft holding its output matrix as Q4_0 is another draft model (its own pool), close to
    /// the file's; only GGUF models can be requantized.
    @Test func aDraftWithItsOutputInQ4_0IsItsOwnModel() throws {
        let path = ModelStore().path(of: ModelCatalog.smolLM2).path
        let full = try Self.smolLM2(), requantized = try ClusterModel.load(path, outputHead: .requantizedQ4_0)
        #expect(requantized.fingerprint == full.fingerprint + "+output-q4_0")
        #expect(requantized.tokenizerFingerprint == full.tokenizerFingerprint)
        let a = full.model.distribution(after: [1, 504, 3158, 314]), b = requantized.model.distribution(after: [1, 504, 3158, 314])
        #expect(a.probabilities != b.probabilities)
        #expect(a.argmax == b.argmax)
        // SmolLM2's tied 576-wide output rows lose more than the Qwen 0.5B's (0.15 here).
        #expect(zip(a.probabilities, b.probabilities).reduce(0) { $0 + abs($1.0 - $1.1) } / 2 < 0.25, "total variation")
        #expect(throws: ClusterModelError.self) { try ClusterModel.load("synthetic:vocab=8", outputHead: .requantizedQ4_0) }
    }

    /// A draft whose layers are requantized to Q4_0 is another draft model: its own fingerprint
    /// (its own pool), nearly the same rows, and the drafts' default for GGUF files. The Qwen
    /// 0.5B: its Q5_0, Q4_K and Q6_K layers are requantized (SmolLM2's Q4_1 ones would stay).
    @Test func aDraftWithItsLayersInQ4_0IsItsOwnModel() throws {
        let path = ModelStore().path(of: ModelCatalog.qwenDraft).path
        let full = try ClusterModel.load(path, threads: 1), requantized = try ClusterModel.load(path, threads: 1, layerWeights: .requantizedQ4_0)
        #expect(requantized.fingerprint == full.fingerprint + "+layers-q4_0")
        #expect(requantized.tokenizerFingerprint == full.tokenizerFingerprint)
        let context = [151644, 872, 198, 7985, 264, 13027, 729]
        let a = full.model.distribution(after: context), b = requantized.model.distribution(after: context)
        #expect(a.probabilities != b.probabilities)
        #expect(a.argmax == b.argmax)
        #expect(zip(a.probabilities, b.probabilities).reduce(0) { $0 + abs($1.0 - $1.1) } / 2 < 0.1, "total variation")
        #expect(try ClusterModel.loadDraft(path, threads: 1).fingerprint == full.fingerprint + "+layers-q4_0+output-candidates-\(OutputHead.defaultCandidates)")
        #expect(throws: ClusterModelError.self) { try ClusterModel.load("synthetic:vocab=8", layerWeights: .requantizedQ4_0) }
    }

    /// A draft on sketched candidates is another draft model too: its own pool, its drafts and
    /// shipped rows confined to the candidates.
    @Test func aDraftOnCandidatesIsItsOwnModelAndShipsOnlyCandidates() throws {
        let path = ModelStore().path(of: ModelCatalog.smolLM2).path
        let full = try Self.smolLM2(), sketched = try ClusterModel.load(path, outputHead: .candidates(32))
        #expect(sketched.fingerprint == full.fingerprint + "+output-candidates-32")
        let context = [1, 504, 3158, 314]
        let probabilities = sketched.model.distribution(after: context).probabilities
        let support = Set(probabilities.indices.filter { probabilities[$0] > 0 })
        #expect(support.count <= 32)
        let block = Drafter(model: sketched).blocks(after: context, length: 1, sampling: SamplingParameters(temperature: 1), maxSupport: 0,
                                                          streams: [RandomStream(seed: 3, stream: 0)])[0]
        #expect(Set(block.rows[0].tokenIDs.map(Int.init)) == support && support.contains(block.tokens[0]))
        #expect(throws: ClusterModelError.self) { try ClusterModel.load("synthetic:vocab=8", outputHead: .candidates(32)) }
    }
}
