#if arch(x86_64)
package import SpeculaKernels

/// The integer matrix products in AVX2, the level's `Int8MatrixKernels`: row by row on the stored
/// blocks (no repacking), up to eight tokens per reading of a row (`RowDot`), on activations
/// quantized to bytes in groups of a block (`ByteActivations`).
package struct AVX2MatrixKernels: Int8MatrixKernels {
    package init() {}

    package func repack(_ weights: QuantizedWeights, pool: ComputePool) -> WeightBytes? { nil }

    package func activationGroup(for type: GGMLType, cols: Int) -> Int {
        switch type {
        case .q4_K, .q6_K: 256
        default: 32
        }
    }

    package func multiply(_ w: QuantizedWeights, repacked: WeightBytes?, _ x: UnsafePointer<Float>, batch: Int,
                          pool: ComputePool, into y: UnsafeMutablePointer<Float>) -> Bool {
        // Each format named as a type, not through an existential: the kernels must be specialized.
        switch w.type {
        case .q4_0: multiply(Q4_0Bytes.self, w, x, batch: batch, pool: pool, into: y)
        case .q4_1: multiply(Q4_1Bytes.self, w, x, batch: batch, pool: pool, into: y)
        case .q5_0: multiply(Q5_0Bytes.self, w, x, batch: batch, pool: pool, into: y)
        case .q8_0: multiply(Q8_0Bytes.self, w, x, batch: batch, pool: pool, into: y)
        case .q4_K: multiply(Q4_KBytes.self, w, x, batch: batch, pool: pool, into: y)
        case .q6_K: multiply(Q6_KBytes.self, w, x, batch: batch, pool: pool, into: y)
        default: return false
        }
        return true
    }

    /// `y[b·rows + r]` for every row r and token b. Rows go in blocks of `rowBlock`, each tile of
    /// tokens over the whole block, so that a tile's activations stay in cache while the block's
    /// rows pass.
    private func multiply<F: ByteBlockFormat>(_ format: F.Type, _ w: QuantizedWeights, _ input: UnsafePointer<Float>,
                                              batch: Int, pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        precondition(w.cols % F.blockWeights == 0, "rows of whole blocks")
        let x = ByteActivations(input, batch: batch, cols: w.cols, groupSize: F.blockWeights)
        let tokens = (0..<batch).map { x.row($0) }
        let rows = w.rows, data = w.data, rowBytes = w.rowBytes, blocks = w.cols / F.blockWeights
        tokens.withUnsafeBufferPointer { tokens in
            let x = tokens.baseAddress!
            pool.forEachRowRange(rows: rows, batch: batch) { range in
                for first in stride(from: range.lowerBound, to: range.upperBound, by: Self.rowBlock) {
                    let block = first..<min(first + Self.rowBlock, range.upperBound)
                    var b = 0
                    while b < batch {
                        let count = min(8, batch - b)
                        for r in block {
                            let d = RowDot.dots(F.self, count: count, data + r * rowBytes, blocks: blocks, x + b)
                            for i in 0..<count { y[(b + i) * rows + r] = d[i] }
                        }
                        b += count
                    }
                }
            }
        }
    }

    private static let rowBlock = 32
}

/// The AVX2 level's float loops: the portable level's (`PortableVectorKernels`, linked into this
/// module), compiled here for AVX2's wider registers. Products and sums stay separate, so they
/// give the portable level's bits.
package typealias AVX2VectorKernels = PortableVectorKernels
#endif
