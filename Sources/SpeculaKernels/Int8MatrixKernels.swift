/// Matrix products on 8-bit activations that a kernel level implements for quantized weights:
/// the engine's fast path (`ActivationPrecision.int8`). A level without them (the portable one)
/// multiplies dequantized rows in floats instead.
///
/// Batch invariance: output (b, r) takes one fixed order of operations whatever the batch size
/// or thread split.
package protocol Int8MatrixKernels: Sendable {
    /// The matrix's rows repacked for the level's kernels that read several rows at once, or nil
    /// where the level has no such layout for the type (the rows are then read as stored).
    func repack(_ weights: QuantizedWeights, pool: ComputePool) -> WeightBytes?
    /// `y[b·rows + r] = Σ_c W[r, c] · x[b·cols + c]` for b < batch on `pool`'s threads, from
    /// `repacked` (what `repack` returned) or the stored rows; false where the level has no
    /// integer kernel for the type.
    /// How many activations of a row of `cols` share one scale when the level's products on `type`
    /// quantize them to 8 bits (`q = round(x / d)`, `d = max|x| / 127` over each group).
    func activationGroup(for type: GGMLType, cols: Int) -> Int
    func multiply(_ weights: QuantizedWeights, repacked: WeightBytes?, _ x: UnsafePointer<Float>, batch: Int, pool: ComputePool,
                  into y: UnsafeMutablePointer<Float>) -> Bool
}

/// A quantized weight matrix as stored: `rows` rows of `cols` weights in ggml blocks of `type`,
/// `rowBytes` apart from `data`.
package struct QuantizedWeights: @unchecked Sendable {
    // @unchecked Sendable invariant: `data` points into read-only memory its owner keeps alive.
    package let type: GGMLType
    package let data: UnsafeRawPointer
    package let rowBytes: Int
    package let rows: Int
    package let cols: Int

    package init(type: GGMLType, data: UnsafeRawPointer, rowBytes: Int, rows: Int, cols: Int) {
        (self.type, self.data, self.rowBytes, self.rows, self.cols) = (type, data, rowBytes, rows, cols)
    }
}
