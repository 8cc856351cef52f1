import SpeculaKernels
/// Causal tree attention of one layer: each new token attends to its sequence's cache, then its
/// ancestors in the tree, then itself.
///
/// Work goes out over the compute pool in units of (sequence, KV head, up to `unitTokens` of the
/// sequence's new tokens): the query heads of those tokens that share a KV head read each page of
/// the cache once together, so a verification pass of 8 tokens reads the cache once, not 8 times
/// (on the 1.5B at a 2,048-token context the per-token reading made attention 40 % of a pass of
/// 8). Keys are stored dimension-major in their pages (`KVPage`), so one query's scores against
/// 32 keys are two vectors of fused multiply-adds over the head's dimensions, with no horizontal
/// sums.
///
/// Batch invariance: a query's score for a key is one fixed chain of fused multiply-adds over
/// the dimensions (`Scores`), whether the key sits in the cache or in the tree, and its output is
/// `Σ_j w_j · v_j` in key order, one fused multiply-add per element and key (`WeightedValues`),
/// whatever the unit, the thread or the rest of the pass.
struct TreeAttention {
    let heads: Int
    let kvHeads: Int
    let headSize: Int
    /// The level's loops: widening half-precision keys and values, the softmax.
    let vector: any VectorKernels

    /// New tokens of one sequence that share a unit's reading of the cache.
    static let unitTokens = 8

    init(config: TransformerConfig, vector: any VectorKernels) {
        self.vector = vector
        heads = config.heads
        kvHeads = config.kvHeads
        headSize = config.headSize
    }

    /// `out[t·heads·d …]` for every token t of the pass (`owner[t]` = its sequence and node,
    /// `lineages[t]` = the node's ancestors root first, then the node), from
    /// the queries `q` (`[token, heads, headSize]`, rotated) and, for tree nodes, `keys[s]` /
    /// `values[s]` (`[node, kvSize]` of sequence s, this layer). The trees' keys are put
    /// dimension-major once per call, like a cache page's.
    func callAsFunction(q: [Float], layer l: Int, trees: [TokenTree], caches: [KVCache], keys: [[Float]], values: [[Float]],
                        owner: [(sequence: Int, node: Int)], lineages: [[Int]], pool: ComputePool, into out: inout [Float]) {
        let units = Self.units(owner: owner, kvHeads: kvHeads)
        let longest = owner.indices.map { caches[owner[$0].sequence].count + lineages[$0].count }.max() ?? 0
        let rowCapacity = Self.wholeBlocks(longest)
        let group = heads / kvHeads, maxRows = Self.unitTokens * group
        let maxNodes = trees.map { Self.wholeBlocks($0.tokens.count) }.max() ?? 0
        let parts = min(pool.threads, units.count)
        let treeKeys = zip(keys, trees).map { transposed($0, nodes: $1.tokens.count) }
        q.withUnsafeBufferPointer { qs in
            out.withUnsafeMutableBufferPointer { os in
                let queries = qs.baseAddress!, outputs = os.baseAddress!
                pool.run { part in
                    guard part < parts else { return }
                    let scratch = Scratch(rows: maxRows, rowCapacity: rowCapacity, nodes: maxNodes, blockFloats: headSize * KVCache.pageSize)
                    for u in stride(from: part, to: units.count, by: parts) {
                        let unit = units[u]
                        let s = owner[unit.tokens.lowerBound].sequence
                        treeKeys[s].withUnsafeBufferPointer { tk in
                            values[s].withUnsafeBufferPointer { tv in
                                attend(unit, lineages: lineages, layer: l, cache: caches[s], nodes: trees[s].tokens.count,
                                       treeKeys: tk.baseAddress!, treeValues: tv.baseAddress!,
                                       queries: queries, scratch: scratch, into: outputs)
                            }
                        }
                    }
                }
            }
        }
    }

    /// A unit of work: consecutive tokens of one sequence (`owner` indices) and one KV head.
    struct Unit {
        let tokens: Range<Int>
        let kvHead: Int
    }

    /// The pass's tokens cut into runs of at most `unitTokens` of one sequence, times the KV heads.
    static func units(owner: [(sequence: Int, node: Int)], kvHeads: Int) -> [Unit] {
        var runs: [Range<Int>] = []
        var start = 0
        for t in owner.indices.dropFirst() where owner[t].sequence != owner[start].sequence || t - start == unitTokens {
            runs.append(start..<t)
            start = t
        }
        if !owner.isEmpty { runs.append(start..<owner.count) }
        return runs.flatMap { run in (0..<kvHeads).map { Unit(tokens: run, kvHead: $0) } }
    }

    /// A tree's keys (`[node, kvSize]`) dimension-major per KV head, the nodes padded to whole
    /// blocks of `AttentionBlock.keys`: `[kvHead][dimension][nodeStride]`, zeros past the last node.
    private func transposed(_ keys: [Float], nodes: Int) -> [Float] {
        let kv = kvHeads * headSize, nodeStride = Self.wholeBlocks(nodes)
        var out = [Float](repeating: 0, count: kv * nodeStride)
        for node in 0..<nodes {
            for f in 0..<kv { out[f * nodeStride + node] = keys[node * kv + f] }
        }
        return out
    }

    /// `n` rounded up to whole blocks of `AttentionBlock.keys` (score rows and tree key rows are padded
    /// so that a block's two vectors never run past them).
    private static func wholeBlocks(_ n: Int) -> Int { (n + AttentionBlock.keys - 1) / AttentionBlock.keys * AttentionBlock.keys }

    /// One thread's working memory: the unit's score rows (one per token and query head), the
    /// rows' scores against the tree's nodes, and a half-precision page's keys and values of one
    /// KV head widened to 32-bit floats.
    final class Scratch {
        let scores: UnsafeMutablePointer<Float>
        let treeScores: UnsafeMutablePointer<Float>
        let keyBlock: UnsafeMutablePointer<Float>
        let valueBlock: UnsafeMutablePointer<Float>
        let rowCapacity: Int

        init(rows: Int, rowCapacity: Int, nodes: Int, blockFloats: Int) {
            self.rowCapacity = rowCapacity
            scores = .allocate(capacity: max(1, rows * rowCapacity))
            treeScores = .allocate(capacity: max(1, rows * nodes))
            keyBlock = .allocate(capacity: blockFloats)
            valueBlock = .allocate(capacity: blockFloats)
        }

        deinit {
            scores.deallocate()
            treeScores.deallocate()
            keyBlock.deallocate()
            valueBlock.deallocate()
        }
    }

    /// A page's keys of `kvHead`, dimension-major with rows `KVCache.pageSize` apart.
    private func keyBlock(_ page: KVPage, kvHead: Int, element: KVCache.Element, scratch: Scratch) -> UnsafePointer<Float> {
        let floats = headSize * KVCache.pageSize, first = kvHead * floats
        switch element {
        case .float32: return UnsafePointer(page.keys.assumingMemoryBound(to: Float.self)) + first
        case .float16:
            vector.widen(page.keys.assumingMemoryBound(to: Float16.self) + first, floats, into: scratch.keyBlock)
            return UnsafePointer(scratch.keyBlock)
        }
    }

    /// A page's first `count` value rows of `kvHead`, and how many floats apart they are.
    private func valueBlock(_ page: KVPage, kvHead: Int, count: Int, element: KVCache.Element, scratch: Scratch) -> (UnsafePointer<Float>, stride: Int) {
        let d = headSize, kv = kvHeads * headSize
        switch element {
        case .float32: return (UnsafePointer(page.values.assumingMemoryBound(to: Float.self)) + kvHead * d, kv)
        case .float16:
            let values = page.values.assumingMemoryBound(to: Float16.self) + kvHead * d
            for slot in 0..<count { vector.widen(values + slot * kv, d, into: scratch.valueBlock + slot * d) }
            return (UnsafePointer(scratch.valueBlock), d)
        }
    }

    private func attend(_ unit: Unit, lineages: [[Int]], layer l: Int, cache: KVCache, nodes: Int,
                        treeKeys: UnsafePointer<Float>, treeValues: UnsafePointer<Float>,
                        queries: UnsafePointer<Float>, scratch: Scratch, into outputs: UnsafeMutablePointer<Float>) {
        let d = headSize, kv = kvHeads * headSize, group = heads / kvHeads
        let pageSize = KVCache.pageSize, pages = cache.pages[l], cached = cache.count
        let rows = unit.tokens.count * group, capacity = scratch.rowCapacity
        let scale = 1 / Float(d).squareRoot()
        // Row r = (token unit.tokens.lowerBound + r / group, query head firstHead + r % group).
        let firstHead = unit.kvHead * group
        func query(_ r: Int) -> UnsafePointer<Float> {
            queries + ((unit.tokens.lowerBound + r / group) * heads + firstHead + r % group) * d
        }
        func output(_ r: Int) -> UnsafeMutablePointer<Float> {
            outputs + ((unit.tokens.lowerBound + r / group) * heads + firstHead + r % group) * d
        }
        let scores = scratch.scores

        // Scores against the cache, a page at a time.
        for p in 0..<(cached + pageSize - 1) / pageSize {
            let block = keyBlock(pages[p], kvHead: unit.kvHead, element: cache.element, scratch: scratch)
            let valid = min(pageSize, cached - p * pageSize)
            vector.attentionScores(rows: rows, query: query, keys: block, stride: pageSize, dimensions: d, scale: scale, valid: valid) { r in
                scores + r * capacity + p * pageSize
            }
        }
        // Scores against the tree's nodes up to the unit's last (ancestors come before their
        // descendants), then each row's lineage in order after the cache.
        let nodeStride = Self.wholeBlocks(nodes), reach = unit.tokens.map { lineages[$0].last! }.max()! + 1
        for first in stride(from: 0, to: reach, by: AttentionBlock.keys) {
            vector.attentionScores(rows: rows, query: query, keys: treeKeys + unit.kvHead * d * nodeStride + first, stride: nodeStride, dimensions: d,
                           scale: scale, valid: min(AttentionBlock.keys, reach - first)) { r in scratch.treeScores + r * nodeStride + first }
        }
        for r in 0..<rows {
            let lineage = lineages[unit.tokens.lowerBound + r / group], row = scores + r * capacity + cached
            for (j, node) in lineage.enumerated() { row[j] = scratch.treeScores[r * nodeStride + node] }
        }

        // Softmax weights, then the weighted values: cache pages (each page's rows read once for
        // all rows of the unit), then the lineage.
        for r in 0..<rows {
            let row = scores + r * capacity, total = cached + lineages[unit.tokens.lowerBound + r / group].count
            let largest = vector.maximum(row, total)
            let sum = vector.exponentiate(row, total, minus: largest)
            for j in 0..<total { row[j] = row[j] / sum }
            output(r).initialize(repeating: 0, count: d)
        }
        for p in 0..<(cached + pageSize - 1) / pageSize {
            let count = min(pageSize, cached - p * pageSize)
            let (block, stride) = valueBlock(pages[p], kvHead: unit.kvHead, count: count, element: cache.element, scratch: scratch)
            for r in 0..<rows {
                vector.accumulateWeightedValues(weights: scores + r * capacity + p * pageSize, values: block, stride: stride, count: count, dimensions: d, into: output(r))
            }
        }
        for r in 0..<rows {
            let lineage = lineages[unit.tokens.lowerBound + r / group], row = scores + r * capacity + cached
            for (j, node) in lineage.enumerated() {
                vector.accumulateWeightedValues(weights: row + j, values: treeValues + node * kv + unit.kvHead * d, stride: kv, count: 1, dimensions: d, into: output(r))
            }
        }
    }
}
