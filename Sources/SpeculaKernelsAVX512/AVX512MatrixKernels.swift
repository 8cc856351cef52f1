#if arch(x86_64)
package import SpeculaKernels

/// The integer matrix products in AVX-512 VNNI, the level's `Int8MatrixKernels`: 16 rows at a
/// time on rows repacked with a row per lane (`InterleavedLayout`: Q4_0, Q4_1, Q5_0, Q8_0,
/// Q4_K, Q6_K), else row by row on the stored blocks (`IntegerDot`, `SuperblockDot`).
package struct AVX512MatrixKernels: Int8MatrixKernels {
    package init() {}

    package func repack(_ w: QuantizedWeights, pool: ComputePool) -> WeightBytes? {
        guard w.rows % 16 == 0, w.cols % 64 == 0 else { return nil }
        // Each layout named as a type, not through an existential: the kernels must be specialized.
        switch w.type {
        case .q4_K: return repack(InterleavedQ4_K.self, w, pool: pool)
        case .q6_K: return repack(InterleavedQ6_K.self, w, pool: pool)
        case .q4_0: return repack(InterleavedQ4_0.self, w, pool: pool)
        case .q4_1: return repack(InterleavedQ4_1.self, w, pool: pool)
        case .q5_0: return repack(InterleavedQ5_0.self, w, pool: pool)
        case .q8_0: return repack(InterleavedQ8_0.self, w, pool: pool)
        default: return nil
        }
    }

    private func repack<L: InterleavedLayout>(_ layout: L.Type, _ w: QuantizedWeights, pool: ComputePool) -> WeightBytes {
        let groups = w.rows / L.rowsPerGroup, superblocks = w.cols / L.superblockSpan, source = w.data
        return WeightBytes(byteCount: groups * superblocks * L.groupBytes) { bytes in
            pool.run(chunks: groups) { g in L.repack(group: g, superblocks: superblocks, from: source, into: bytes) }
        }
    }

    package func activationGroup(for type: GGMLType, cols: Int) -> Int { QuantizedActivations.groupSize(cols: cols) }

    package func multiply(_ w: QuantizedWeights, repacked: WeightBytes?, _ x: UnsafePointer<Float>, batch: Int, pool: ComputePool,
                          into y: UnsafeMutablePointer<Float>) -> Bool {
        guard w.cols % 64 == 0 else { return false }
        if let repacked {
            switch w.type {
            case .q4_K: multiplyInterleaved(InterleavedQ4_K.self, w, repacked, x, batch: batch, pool: pool, into: y)
            case .q6_K: multiplyInterleaved(InterleavedQ6_K.self, w, repacked, x, batch: batch, pool: pool, into: y)
            case .q4_0: multiplyInterleaved(InterleavedQ4_0.self, w, repacked, x, batch: batch, pool: pool, into: y)
            case .q4_1: multiplyInterleaved(InterleavedQ4_1.self, w, repacked, x, batch: batch, pool: pool, into: y)
            case .q5_0: multiplyInterleaved(InterleavedQ5_0.self, w, repacked, x, batch: batch, pool: pool, into: y)
            case .q8_0: multiplyInterleaved(InterleavedQ8_0.self, w, repacked, x, batch: batch, pool: pool, into: y)
            default: return false
            }
            return true
        }
        switch w.type {
        case .q4_0: multiplyInteger(Q4_0Chunk.self, w, x, batch: batch, pool: pool, into: y)
        case .q4_1: multiplyInteger(Q4_1Chunk.self, w, x, batch: batch, pool: pool, into: y)
        case .q5_0: multiplyInteger(Q5_0Chunk.self, w, x, batch: batch, pool: pool, into: y)
        case .q8_0: multiplyInteger(Q8_0Chunk.self, w, x, batch: batch, pool: pool, into: y)
        case .q4_K: multiplySuperblocks(Q4_KBlock.self, w, x, batch: batch, pool: pool, into: y)
        case .q6_K: multiplySuperblocks(Q6_KBlock.self, w, x, batch: batch, pool: pool, into: y)
        default: return false
        }
        return true
    }

    /// The products with each weight format's integer kernel, on activations quantized the way
    /// that kernel reads them.
    private func multiplyInteger<L: ChunkLayout>(_ layout: L.Type, _ w: QuantizedWeights, _ input: UnsafePointer<Float>, batch: Int, pool: ComputePool,
                                                 into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: w.cols, codeOffsetShift: L.codeOffsetShift ?? 0)
        let tokens = (0..<batch).map { IntegerDot.Row(x, token: $0) }
        forEachRow(w, pool: pool, kernel: IntegerDot.Kernel<L>(cols: w.cols, group: x.groupSize), tokens: tokens, into: y)
    }

    private func multiplySuperblocks<L: SuperblockLayout>(_ layout: L.Type, _ w: QuantizedWeights, _ input: UnsafePointer<Float>, batch: Int,
                                                       pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: w.cols, codeOrder: .pieceMajor(pieceBytes: L.pieceBytes))
        let tokens = (0..<batch).map { SuperblockDot.Row(L.self, x, token: $0) }
        forEachRow(w, pool: pool, kernel: SuperblockDot.Kernel<L>(cols: w.cols), tokens: tokens, into: y)
    }

    /// The products with 16 rows at a time (`InterleavedDot`): for each block of rows, each tile
    /// of tokens over each group of the block, as `forEachRow` does row by row. Only the first
    /// tile prefetches: the others find the block's weights in cache.
    private func multiplyInterleaved<L: InterleavedLayout>(_ layout: L.Type, _ w: QuantizedWeights, _ packed: WeightBytes, _ input: UnsafePointer<Float>, batch: Int,
                                                            pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: w.cols)
        let kernel = InterleavedDot.Kernel<L>(cols: w.cols, activationGroup: x.groupSize), rows = w.rows
        let activations = InterleavedActivations(x, shape: kernel.shape)
        let tiles = activations.tiles
        let tokens = tiles.flatMap { tile in (0..<tile.width.rawValue).map { tile.start + 4 * $0 } }
        let groupStride = w.cols / L.superblockSpan * L.groupBytes, groupRows = L.rowsPerGroup
        let base = UnsafeRawPointer(packed.pointer)
        tokens.withUnsafeBufferPointer { tokens in
            pool.forEachRowRange(rows: rows, batch: batch, granule: groupRows) { range in
                for first in stride(from: range.lowerBound, to: range.upperBound, by: Self.rowBlock) {
                    let block = first..<min(first + Self.rowBlock, range.upperBound)
                    for tile in tiles {
                        for g in stride(from: block.lowerBound, to: block.upperBound, by: groupRows) {
                            tile.width.run(InterleavedDot.GroupProducts(
                                kernel: kernel, group: base + g / groupRows * groupStride, x: tokens.baseAddress! + tile.first,
                                y: y + tile.first * rows + g, stride: rows, prefetch: tile.first == 0))
                        }
                    }
                }
            }
        }
    }

    /// `y[b·rows + r]` for every row r and token b, the tokens taken in tiles (`TileWidth`):
    /// each row is read once per tile of up to eight tokens. Rows go in blocks of `rowBlock`, each
    /// tile over the whole block, so that a tile's activations stay in cache while the block's
    /// rows pass (passes of 32 tokens 11 % faster than tile by tile over each row; smaller passes
    /// take one tile and do not change).
    private func forEachRow<K: TileKernel>(_ w: QuantizedWeights, pool: ComputePool, kernel: K, tokens: [K.State.Row],
                                           into y: UnsafeMutablePointer<Float>) {
        let batch = tokens.count, rows = w.rows, data = w.data, rowBytes = w.rowBytes
        tokens.withUnsafeBufferPointer { tokens in
            let x = tokens.baseAddress!
            pool.forEachRowRange(rows: rows, batch: batch) { range in
                for first in stride(from: range.lowerBound, to: range.upperBound, by: Self.rowBlock) {
                    let block = first..<min(first + Self.rowBlock, range.upperBound)
                    var b = 0
                    while b < batch {
                        let width = TileWidth(remaining: batch - b)
                        for r in block {
                            let d = width.dots(kernel, data + r * rowBytes, x + b)
                            for i in 0..<width.rawValue { y[(b + i) * rows + r] = d[i] }
                        }
                        b += width.rawValue
                    }
                }
            }
        }
    }

    private static let rowBlock = 32
}
#endif
