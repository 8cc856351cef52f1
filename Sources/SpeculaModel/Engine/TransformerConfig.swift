/// Hyperparameters of a llama- or qwen2-layout transformer, read from GGUF metadata.
package struct TransformerConfig: Sendable, Equatable {
    /// How rotary embeddings pair up dimensions.
    package enum RopeLayout: Sendable {
        /// Adjacent pairs (2i, 2i+1): llama.
        case normal
        /// Halves (i, i + d/2): qwen2 ("NeoX").
        case neox
    }

    package let architecture: String
    package let layers: Int
    package let embedding: Int
    package let feedForward: Int
    package let heads: Int
    package let kvHeads: Int
    package let headSize: Int
    package let vocabulary: Int
    package let ropeBase: Float
    package let ropeLayout: RopeLayout
    package let normEpsilon: Float
    /// Longest sequence the model was trained for (`context_length`; 4,096 when absent): the bound
    /// on a sequence's KV cache.
    package let contextLength: Int

    package var kvSize: Int { kvHeads * headSize }

    init(file: GGUFFile) throws(GGUFError) {
        let arch = try file.string("general.architecture")
        guard arch == "llama" || arch == "qwen2" else { throw .unsupportedArchitecture(arch, path: file.path) }
        architecture = arch
        layers = try file.int("\(arch).block_count")
        embedding = try file.int("\(arch).embedding_length")
        feedForward = try file.int("\(arch).feed_forward_length")
        heads = try file.int("\(arch).attention.head_count")
        kvHeads = file.metadata["\(arch).attention.head_count_kv"]?.intValue ?? heads
        headSize = file.metadata["\(arch).attention.key_length"]?.intValue ?? embedding / heads
        let embeddingTensor = try file.tensor("token_embd.weight")
        vocabulary = embeddingTensor.dimensions.count > 1 ? embeddingTensor.dimensions[1] : 0
        ropeBase = Float(file.metadata["\(arch).rope.freq_base"]?.doubleValue ?? 10_000)
        ropeLayout = arch == "qwen2" ? .neox : .normal
        normEpsilon = Float(try file.double("\(arch).attention.layer_norm_rms_epsilon"))
        contextLength = file.metadata["\(arch).context_length"]?.intValue ?? 4096
        guard heads % kvHeads == 0, headSize % 2 == 0 else {
            throw .malformed(path: file.path, reason: "\(heads) heads, \(kvHeads) kv heads, head size \(headSize)")
        }
    }
}
