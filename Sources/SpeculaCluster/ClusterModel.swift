import Crypto
import Foundation
package import SpeculaCore
package import SpeculaJinja
package import SpeculaModel

/// A model loaded for a cluster role, with the identity the handshake compares.
///
/// `fingerprint` names the exact weights (workers are pooled by it: the multi-draft verifiers need
/// all drafts of a round from one draft distribution); `tokenizerFingerprint` names the vocabulary
/// (a worker whose tokenizer differs from the target's is refused).
package struct ClusterModel: Sendable {
    package let model: any ExactModel
    package let fingerprint: String
    package let tokenizerFingerprint: String
    package let endOfSequence: Token?
    package let source: String
    package let tokenizer: Tokenizer?
    /// The chat template chat requests are rendered with (models with a tokenizer): the model
    /// file's, or the one `replacingChatTemplate` set; a failure names why it cannot be used.
    package private(set) var chatTemplate: Result<ChatTemplate, JinjaError>?
    private let engine: TransformerModel?
    /// Bytes per position admission counts for a model without a KV cache (toy, synthetic): 0,
    /// unless a test of the KV budget sets it.
    package var simulatedKVBytesPerPosition = 0

    package var vocabularySize: Int { model.vocabularySize }

    /// Longest sequence (prompt + generated tokens) this model serves: the engine's context
    /// length, which bounds each request's KV cache; unbounded for toy and synthetic models.
    package var maxSequenceLength: Int? { engine?.config.contextLength }

    /// Bytes one context position takes in the target's KV cache, held in pages of
    /// `kvPagePositions` positions; for toy and synthetic models, which keep no cache, what
    /// `simulatedKVBytesPerPosition` says.
    package var kvBytesPerPosition: Int { engine?.kvBytesPerToken ?? simulatedKVBytesPerPosition }
    package var kvPagePositions: Int { KVCache.pageSize }

    /// The scorer a coordinator uses with this model as its target; `promptCacheBytes` keeps
    /// finished requests' KV caches for reuse within that budget (engine models; nil: none).
    package func makeScorer(promptCacheBytes: Int? = nil) -> any TargetScorer {
        if let engine { return EngineScorer(engine: engine, promptCacheBytes: promptCacheBytes) }
        return ExactScorer(model: model)
    }

    /// Sleeps for a synthetic model's simulated pass cost (no-op for real and toy models).
    package func simulatePass(tokens: Int) {
        (model as? SyntheticModel)?.simulatePass(tokens: tokens)
    }

    /// Loads `--model SPEC`: a GGUF file or a cached model's name (`specula models list`), a
    /// toy n-gram JSON file, or a synthetic-model spec (`synthetic:vocab=…`, see `SyntheticModel`).
    /// `outputHead` and `layerWeights` other than `.file` (GGUF models only; for drafts) compute
    /// the logits or store the layers a cheaper way (`OutputHead`, `LayerWeights`) and are part
    /// of the fingerprint: they change the draft law.
    package static func load(_ spec: String, threads: Int = 2, outputHead: OutputHead = .file, layerWeights: LayerWeights = .file) throws -> ClusterModel {
        try load(spec, resolved: ModelStore().resolve(spec), threads: threads, outputHead: outputHead, layerWeights: layerWeights)
    }

    /// Loads a draft model: as `load`, with `outputHead` and `layerWeights`, or when nil the
    /// drafts' defaults for a GGUF file — the sketched candidates (`OutputHead.candidates`; the
    /// output matrix is a small model's largest tensor: the Qwen 0.5B drafts 19–26 % faster on one
    /// core) and layers requantized to Q4_0 (`LayerWeights.requantizedQ4_0`: 1.4× more) — and the
    /// model as it is otherwise.
    package static func loadDraft(_ spec: String, threads: Int = 2, outputHead: OutputHead? = nil, layerWeights: LayerWeights? = nil) throws -> ClusterModel {
        let path = ModelStore().resolve(spec)
        let gguf = isGGUF(spec, at: path)
        return try load(spec, resolved: path, threads: threads, outputHead: outputHead ?? (gguf ? .candidates(OutputHead.defaultCandidates) : .file),
                        layerWeights: layerWeights ?? (gguf ? .requantizedQ4_0 : .file))
    }

    /// Whether `spec`, resolved to `path`, names a GGUF file (not a synthetic model or a toy).
    private static func isGGUF(_ spec: String, at path: String) -> Bool {
        !spec.hasPrefix("synthetic:") && path.hasSuffix(".gguf")
    }

    private static func load(_ spec: String, resolved path: String, threads: Int, outputHead: OutputHead, layerWeights: LayerWeights) throws -> ClusterModel {
        if outputHead != .file, !isGGUF(spec, at: path) {
            throw ClusterModelError.unsupported(spec, "a draft output head (--output-head) applies to GGUF models only")
        }
        if layerWeights != .file, !isGGUF(spec, at: path) {
            throw ClusterModelError.unsupported(spec, "requantized draft weights (--weights) apply to GGUF models only")
        }
        if spec.hasPrefix("synthetic:") {
            let model = try SyntheticModel(spec: spec)
            let identity = "synthetic:vocab=\(model.vocabularySize),seed=\(model.seed),window=\(model.window),peak=\(model.peak)"
            return ClusterModel(
                model: model, fingerprint: identity + (model.agreement.map { ",agreement=\($0),draft-seed=\(model.draftSeed)" } ?? ""),
                tokenizerFingerprint: "synthetic-vocab-\(model.vocabularySize)", endOfSequence: nil, source: spec, tokenizer: nil, engine: nil)
        }
        if path.hasSuffix(".json") {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw ClusterModelError.unreadable(path, error.localizedDescription)
            }
            return toy(try NGramModel(json: data, source: path), fingerprint: "sha256:" + SHA256.hash(data: data).hex, source: path)
        }
        guard path.hasSuffix(".gguf") else {
            throw ClusterModelError.unsupported(spec, "expected a GGUF file, a model name from `specula models list`, a toy n-gram .json file or synthetic:…")
        }
        let engine = try TransformerModel(path: path, threads: threads, outputHead: outputHead, layerWeights: layerWeights)
        let tokenizer = try Tokenizer(file: engine.file)
        return ClusterModel(
            model: EngineSequenceModel(engine: engine),
            // Kernel levels round differently in the last bits: workers of different levels are
            // different draft laws, pooled (and audited) apart.
            fingerprint: try weightsFingerprint(path) + "+kernels-\(engine.kernels.level.rawValue)" + layerWeights.fingerprintSuffix
                + outputHead.fingerprintSuffix,
            tokenizerFingerprint: tokenizer.fingerprint, endOfSequence: tokenizer.eos, source: path, tokenizer: tokenizer,
            chatTemplate: Result { () throws(JinjaError) in try ChatTemplate(for: tokenizer) }, engine: engine)
    }

    /// The model with chat requests rendered by the template `source` (`--chat-template-file`).
    package func replacingChatTemplate(_ source: String) throws(JinjaError) -> ClusterModel {
        guard let tokenizer else { throw JinjaError(.runtime, "\(self.source) has no tokenizer to use a chat template with") }
        var model = self
        model.chatTemplate = .success(try ChatTemplate(for: tokenizer, source: source))
        return model
    }

    /// A toy n-gram model (its end-of-sequence token, if any, ends sequences); `fingerprint`
    /// names its table.
    package static func toy(_ model: NGramModel, fingerprint: String, source: String = "<memory>") -> ClusterModel {
        ClusterModel(model: model, fingerprint: fingerprint, tokenizerFingerprint: "toy-vocab-\(model.vocabularySize)",
                     endOfSequence: model.endOfSequence, source: source, tokenizer: nil, engine: nil)
    }

    /// SHA-256 over the file size, its first 4 MiB (header, metadata, tensor table) and 64 KiB at
    /// 64 evenly spaced offsets: distinguishes different weights without hashing gigabytes at
    /// every start.
    static func weightsFingerprint(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ClusterModelError.unreadable(path, "cannot open") }
        defer { try? handle.close() }
        let size = (try handle.seekToEnd())
        var hasher = SHA256()
        hasher.update(data: Array(String(size).utf8))
        try handle.seek(toOffset: 0)
        hasher.update(data: handle.readData(ofLength: 4 << 20))
        for i in 0..<64 {
            try handle.seek(toOffset: size / 64 * UInt64(i))
            hasher.update(data: handle.readData(ofLength: 64 << 10))
        }
        return "sampled-sha256:" + hasher.finalize().hex
    }
}

/// Why `--model` could not be loaded.
package enum ClusterModelError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unsupported(String, String)

    package var description: String {
        switch self {
        case .unreadable(let spec, let why): "cannot read model \(spec): \(why)"
        case .unsupported(let spec, let why): "cannot load model \(spec): \(why)"
        }
    }
}
