import Foundation
package import SpeculaKernels

/// A llama/qwen2-layout transformer over a memory-mapped GGUF file: RMSNorm, rotary embeddings
/// (normal or NeoX layout), grouped-query attention with optional q/k/v biases, SwiGLU, tied or
/// separate output matrix.
///
/// `evaluate` runs one pass over the new tokens of several sequences at once, each a tree hanging
/// off its KV cache (a verification pass): every weight row is read once per pass, and every
/// token's logits are bitwise what decoding it alone would give (fixed reduction orders; keys in
/// the order cache, ancestors, self). Thread-safety: immutable; `evaluate` may run concurrently.
package final class TransformerModel: Sendable {
    package let config: TransformerConfig
    package let file: GGUFFile
    package var threads: Int { pool.threads }
    private let pool: ComputePool
    package let precision: ActivationPrecision
    /// The kernel level its loops and products run on.
    package let kernels: KernelSet
    private let embeddings: WeightMatrix
    private let output: Output
    private let outputNorm: [Float]
    private let layers: [Layer]
    private let attention: TreeAttention

    /// The output head as computed: a matrix product over every row, or the sketched candidates.
    private enum Output: Sendable {
        case matrix(WeightMatrix)
        case candidates(CandidateOutput)
    }

    private struct Layer: Sendable {
        let attentionNorm: [Float]
        let q, k, v, o: WeightMatrix
        let qBias, kBias, vBias: [Float]?
        let ffnNorm: [Float]
        let gate, up, down: WeightMatrix
    }

    /// Loads `path`; throws `GGUFError` naming the file and problem for anything unsupported.
    /// `outputHead` other than `.file` (drafts only: it changes the model) computes the logits a
    /// cheaper way (`OutputHead`); `layerWeights` other than `.file` (drafts only too) stores the
    /// layers' matrices a cheaper way (`LayerWeights`). `kernels` runs its numbers (default: the
    /// level `KernelSet.chosen` names for this CPU).
    package init(path: String, threads: Int = 2, precision: ActivationPrecision = .int8, outputHead: OutputHead = .file,
                 layerWeights: LayerWeights = .file, kernels: KernelSet = .chosen) throws(GGUFError) {
        let file = try GGUFFile(path: path)
        let c = try TransformerConfig(file: file)
        self.file = file
        self.config = c
        self.pool = ComputePool(threads: threads)
        self.attention = TreeAttention(config: c, vector: kernels.vector)
        self.precision = precision
        self.kernels = kernels
        func vector(_ name: String, _ count: Int) throws(GGUFError) -> [Float] {
            let matrix = try WeightMatrix(file: file, name: name, rows: 1, cols: count)
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { matrix.row(0, into: $0.baseAddress!) }
            return out
        }
        func optionalVector(_ name: String, _ count: Int) throws(GGUFError) -> [Float]? {
            file.tensors[name] == nil ? nil : try vector(name, count)
        }
        let pool = pool
        func matrix(_ name: String, rows: Int, cols: Int, asQ4_0: Bool = false) throws(GGUFError) -> WeightMatrix {
            let read = try WeightMatrix(file: file, name: name, rows: rows, cols: cols)
            let matrix = asQ4_0 ? read.requantizedAsQ4_0(pool: pool) : read
            return precision == .int8 ? matrix.interleavedForInt8(pool: pool, kernels: kernels) : matrix
        }
        embeddings = try WeightMatrix(file: file, name: "token_embd.weight", rows: c.vocabulary, cols: c.embedding)
        let outputName = file.tensors["output.weight"] != nil ? "output.weight" : "token_embd.weight"
        switch outputHead {
        case .file: output = .matrix(try matrix(outputName, rows: c.vocabulary, cols: c.embedding))
        case .requantizedQ4_0: output = .matrix(try matrix(outputName, rows: c.vocabulary, cols: c.embedding, asQ4_0: true))
        case .candidates(let count):
            let rows = try WeightMatrix(file: file, name: outputName, rows: c.vocabulary, cols: c.embedding)
            output = .candidates(CandidateOutput(matrix: rows, count: count, pool: pool, kernels: kernels))
        }
        outputNorm = try vector("output_norm.weight", c.embedding)
        func layerMatrix(_ name: String, rows: Int, cols: Int) throws(GGUFError) -> WeightMatrix {
            // Q4_0 and Q4_1 matrices stay: their kernels are already the cheapest, and Q4_1's
            // offsets would be lost for no fewer bytes.
            let type = file.tensors[name]?.type
            let requantize = layerWeights == .requantizedQ4_0 && type != .q4_0 && type != .q4_1
            return try matrix(name, rows: rows, cols: cols, asQ4_0: requantize)
        }
        var layers: [Layer] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            layers.append(Layer(
                attentionNorm: try vector(p + "attn_norm.weight", c.embedding),
                q: try layerMatrix(p + "attn_q.weight", rows: c.heads * c.headSize, cols: c.embedding),
                k: try layerMatrix(p + "attn_k.weight", rows: c.kvSize, cols: c.embedding),
                v: try layerMatrix(p + "attn_v.weight", rows: c.kvSize, cols: c.embedding),
                o: try layerMatrix(p + "attn_output.weight", rows: c.embedding, cols: c.heads * c.headSize),
                qBias: try optionalVector(p + "attn_q.bias", c.heads * c.headSize),
                kBias: try optionalVector(p + "attn_k.bias", c.kvSize),
                vBias: try optionalVector(p + "attn_v.bias", c.kvSize),
                ffnNorm: try vector(p + "ffn_norm.weight", c.embedding),
                gate: try layerMatrix(p + "ffn_gate.weight", rows: c.feedForward, cols: c.embedding),
                up: try layerMatrix(p + "ffn_up.weight", rows: c.feedForward, cols: c.embedding),
                down: try layerMatrix(p + "ffn_down.weight", rows: c.embedding, cols: c.feedForward)))
        }
        self.layers = layers
    }

    package var vocabularySize: Int { config.vocabulary }

    /// How caches store keys and values: half precision on the fast path (int8 activations, as
    /// llama.cpp's default cache), 32-bit floats on the float path that tests compare with a
    /// float64 reference.
    package var kvElement: KVCache.Element { precision == .int8 ? .float16 : .float32 }

    package var kvBytesPerToken: Int { config.layers * kvElement.positionBytes(kvSize: config.kvSize) }

    package func makeCache() -> KVCache { KVCache(layers: config.layers, kvSize: config.kvSize, element: kvElement) }

    /// The result of evaluating one tree: raw logits per node `[node][vocab]` (empty for the nodes
    /// before `logitsFrom`), and the keys and values per layer `[layer][node·kvSize]` for `commit`.
    package struct TreeResult: Sendable {
        package var logits: [[Float]]
        var keys: [[Float]]
        var values: [[Float]]
    }

    /// One pass over the trees of several sequences (caches unchanged; see `commit`), with the
    /// logits of tree s's nodes from `logitsFrom[s]` on (all when nil). A prompt's tokens before
    /// its last need no logits: the output matrix (15–28 % of the Qwen models' weights) then
    /// multiplies only the rows asked for, and a 2,048-token prompt does not hold 1.2 GB of
    /// logits.
    package func evaluate(_ trees: [TokenTree], caches: [KVCache], logitsFrom: [Int]? = nil) -> [TreeResult] {
        precondition(trees.count == caches.count && caches.allSatisfy { $0.element == kvElement })
        let c = config
        let n = trees.reduce(0) { $0 + $1.tokens.count }
        guard n > 0 else { return trees.map { _ in TreeResult(logits: [], keys: [], values: []) } }
        // Flattened token table: (sequence, node index).
        var owner: [(sequence: Int, node: Int)] = []
        var offsets: [Int] = []
        for (s, tree) in trees.enumerated() {
            offsets.append(owner.count)
            for i in tree.tokens.indices { owner.append((s, i)) }
        }
        var x = [Float](repeating: 0, count: n * c.embedding)
        x.withUnsafeMutableBufferPointer { xs in
            for (t, o) in owner.enumerated() { embeddings.row(trees[o.sequence].tokens[o.node], into: xs.baseAddress! + t * c.embedding) }
        }
        let positions = owner.map { caches[$0.sequence].count + trees[$0.sequence].depth($0.node) - 1 }
        let lineages = owner.map { trees[$0.sequence].lineage($0.node) }
        let rotary = RotaryTable(positions: positions, headSize: c.headSize, base: c.ropeBase)
        var normed = [Float](repeating: 0, count: n * c.embedding)
        var q = [Float](repeating: 0, count: n * c.heads * c.headSize)
        var k = [Float](repeating: 0, count: n * c.kvSize)
        var v = [Float](repeating: 0, count: n * c.kvSize)
        var attended = [Float](repeating: 0, count: n * c.heads * c.headSize)
        var projected = [Float](repeating: 0, count: n * c.embedding)
        var gate = [Float](repeating: 0, count: n * c.feedForward)
        var up = [Float](repeating: 0, count: n * c.feedForward)
        var results = trees.map { tree in
            TreeResult(logits: [], keys: Array(repeating: [], count: c.layers), values: Array(repeating: [], count: c.layers))
        }
        for (l, layer) in layers.enumerated() {
            normalize(x, weight: layer.attentionNorm, tokens: n, into: &normed)
            multiply(layer.q, normed, tokens: n, into: &q)
            multiply(layer.k, normed, tokens: n, into: &k)
            multiply(layer.v, normed, tokens: n, into: &v)
            if let b = layer.qBias { addBias(b, to: &q, tokens: n) }
            if let b = layer.kBias { addBias(b, to: &k, tokens: n) }
            if let b = layer.vBias { addBias(b, to: &v, tokens: n) }
            rotate(&q, heads: c.heads, rotary: rotary)
            rotate(&k, heads: c.kvHeads, rotary: rotary)
            if kvElement == .float16 {
                Kernels.roundToHalf(&k)
                Kernels.roundToHalf(&v)
            }
            for (s, tree) in trees.enumerated() {
                let start = offsets[s] * c.kvSize, end = (offsets[s] + tree.tokens.count) * c.kvSize
                results[s].keys[l] = Array(k[start..<end])
                results[s].values[l] = Array(v[start..<end])
            }
            attention(q: q, layer: l, trees: trees, caches: caches, keys: results.map { $0.keys[l] }, values: results.map { $0.values[l] },
                      owner: owner, lineages: lineages, pool: pool, into: &attended)
            multiply(layer.o, attended, tokens: n, into: &projected)
            for i in 0..<x.count { x[i] += projected[i] }
            normalize(x, weight: layer.ffnNorm, tokens: n, into: &normed)
            multiply(layer.gate, normed, tokens: n, into: &gate)
            multiply(layer.up, normed, tokens: n, into: &up)
            gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { u in kernels.vector.swiGLU(g.baseAddress!, u.baseAddress!, g.count) } }
            multiply(layer.down, gate, tokens: n, into: &projected)
            for i in 0..<x.count { x[i] += projected[i] }
        }
        normalize(x, weight: outputNorm, tokens: n, into: &normed)
        let wanted = owner.indices.filter { owner[$0].node >= logitsFrom?[owner[$0].sequence] ?? 0 }
        var rows = [Float](repeating: 0, count: wanted.count * c.embedding)
        for (i, t) in wanted.enumerated() { rows[i * c.embedding..<(i + 1) * c.embedding] = normed[t * c.embedding..<(t + 1) * c.embedding] }
        var logits = [Float](repeating: 0, count: wanted.count * c.vocabulary)
        switch output {
        case .matrix(let matrix): multiply(matrix, rows, tokens: wanted.count, into: &logits)
        case .candidates(let head): head.logits(rows, tokens: wanted.count, pool: pool, into: &logits)
        }
        for s in results.indices { results[s].logits = Array(repeating: [], count: trees[s].tokens.count) }
        for (i, t) in wanted.enumerated() {
            results[owner[t].sequence].logits[owner[t].node] = Array(logits[i * c.vocabulary..<(i + 1) * c.vocabulary])
        }
        return results
    }

    /// Appends the keys and values of `nodes` (a root-first path of the evaluated tree) to `cache`.
    package func commit(_ result: TreeResult, nodes: [Int], to cache: inout KVCache) {
        let kv = config.kvSize
        for l in 0..<config.layers {
            result.keys[l].withUnsafeBufferPointer { keys in
                result.values[l].withUnsafeBufferPointer { values in
                    for (offset, node) in nodes.enumerated() {
                        cache.write(layer: l, offset: offset, key: keys.baseAddress! + node * kv, value: values.baseAddress! + node * kv)
                    }
                }
            }
        }
        cache.didAppend(nodes.count)
    }

    /// Feeds `tokens` as a chain in passes of at most `passTokens`, commits them, and returns the
    /// last token's logits.
    package func decode(_ tokens: [Int], cache: inout KVCache) -> [Float] {
        var logits: [Float] = []
        for start in stride(from: 0, to: tokens.count, by: Self.passTokens) {
            let chunk = Array(tokens[start..<min(start + Self.passTokens, tokens.count)])
            let last = start + chunk.count == tokens.count
            let result = evaluate([.chain(chunk)], caches: [cache], logitsFrom: [last ? chunk.count - 1 : chunk.count])[0]
            commit(result, nodes: Array(chunk.indices), to: &cache)
            if last { logits = result.logits.last ?? [] }
        }
        return logits
    }

    /// Most tokens in one pass of a long prompt (`decode`, the coordinator's scorer): a pass holds
    /// its tokens' activations (about 160 KB a token for the 1.5B), so a 32K-token prompt in one
    /// pass would need gigabytes; per pass of 512 the weights are still read once per 512 tokens.
    package static let passTokens = 512

    // MARK: - Pieces

    private func multiply(_ matrix: WeightMatrix, _ x: [Float], tokens: Int, into y: inout [Float]) {
        matrix.multiply(x, batch: tokens, pool: pool, precision: precision, kernels: kernels, into: &y)
    }

    private func normalize(_ x: [Float], weight: [Float], tokens: Int, into out: inout [Float]) {
        let e = config.embedding
        x.withUnsafeBufferPointer { xs in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    for t in 0..<tokens {
                        Kernels.rmsNorm(xs.baseAddress! + t * e, weight: w.baseAddress!, eps: config.normEpsilon, count: e, into: o.baseAddress! + t * e)
                    }
                }
            }
        }
    }

    private func addBias(_ bias: [Float], to y: inout [Float], tokens: Int) {
        let m = bias.count
        for t in 0..<tokens { for i in 0..<m { y[t * m + i] += bias[i] } }
    }

    /// Rotary position embedding in place, `[token, heads, headSize]`, with each token's
    /// rotation from `rotary` (one table per pass: every layer and head reuses it).
    private func rotate(_ y: inout [Float], heads: Int, rotary: RotaryTable) {
        let d = config.headSize, half = d / 2
        for t in 0..<rotary.positions {
            for h in 0..<heads {
                let base = (t * heads + h) * d
                for i in 0..<half {
                    let cosA = rotary.cosines[t * half + i], sinA = rotary.sines[t * half + i]
                    let (a, b) = config.ropeLayout == .neox ? (base + i, base + i + half) : (base + 2 * i, base + 2 * i + 1)
                    let x0 = y[a], x1 = y[b]
                    y[a] = x0 * cosA - x1 * sinA
                    y[b] = x0 * sinA + x1 * cosA
                }
            }
        }
    }
}
