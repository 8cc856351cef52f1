import Dispatch
package import SpeculaKernels

/// A weight tensor `[cols, rows]` (ggml `ne = [cols, rows]`): row r holds the `cols` input weights
/// of output r. Multiplies a batch of activation vectors, reading each weight row once per batch.
///
/// Batch invariance: output (b, r) is always `dot(dequantized row r, x_b)` with one fixed
/// summation order, whatever the batch size or the thread split, so a token's result is bitwise
/// the same alone or inside a verification pass (design.md, "Batch invariance").
package struct WeightMatrix: @unchecked Sendable {
    // @unchecked Sendable invariant: `data` points into read-only memory kept alive by `owner`
    // (a file mapping, or `WeightBytes`).
    let owner: AnyObject
    let data: UnsafeRawPointer
    let type: GGMLType
    let rows: Int
    let cols: Int
    let rowBytes: Int
    /// The rows repacked for the int8 kernels of a level that reads several rows at once
    /// (`interleavedForInt8`).
    private var repacked: WeightBytes?

    package init(file: GGUFFile, name: String, rows: Int, cols: Int) throws(GGUFError) {
        let info = try file.tensor(name)
        guard info.dimensions.count >= 1, info.dimensions[0] == cols, info.elementCount == rows * cols else {
            throw .shapeMismatch(tensor: name, expected: [cols, rows], found: info.dimensions, path: file.path)
        }
        guard info.type.isSupported else { throw .unsupportedType(tensor: name, type: info.type.rawValue, path: file.path) }
        self.owner = file
        self.data = file.pointer(to: info)
        self.type = info.type
        self.rows = rows
        self.cols = cols
        self.rowBytes = info.type.byteCount(elements: cols)
    }

    /// A matrix over raw ggml blocks held in memory (rows of `type.byteCount(elements: cols)`).
    package init(bytes: WeightBytes, type: GGMLType, rows: Int, cols: Int) {
        precondition(type.isSupported && bytes.count == rows * type.byteCount(elements: cols))
        self.owner = bytes
        self.data = UnsafeRawPointer(bytes.pointer)
        self.type = type
        self.rows = rows
        self.cols = cols
        self.rowBytes = type.byteCount(elements: cols)
    }

    /// This matrix with its rows also repacked for `kernels`' int8 products where the level has a
    /// layout for them (AVX-512: a row per lane for Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K; else
    /// `self`), on `pool`'s threads. The file's bytes stay mapped for the float path and for row
    /// lookups, but their pages are released (read again only if used): the repacked copy is
    /// what the int8 products read, as many bytes as the file's (3 % more for Q4_K).
    package func interleavedForInt8(pool: ComputePool, kernels: KernelSet) -> WeightMatrix {
        guard repacked == nil, let bytes = kernels.int8?.repack(quantized, pool: pool) else { return self }
        var copy = self
        copy.repacked = bytes
        (owner as? GGUFFile)?.releasePages(data, byteCount: rows * rowBytes)
        return copy
    }

    /// The stored rows, as the kernels read them.
    private var quantized: QuantizedWeights { QuantizedWeights(type: type, data: data, rowBytes: rowBytes, rows: rows, cols: cols) }

    /// Dequantizes row `r` into `out` (`cols` floats).
    package func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, data + r * rowBytes, count: cols, into: out)
    }

    /// `output[b·rows + r] = Σ_c W[r, c] · input[b·cols + c]` for b < batch, on `pool`'s threads.
    ///
    /// With `.int8`, quantized rows take the level's integer kernels on 8-bit activations where
    /// it has them (`Int8MatrixKernels`); otherwise rows are dequantized and multiplied in floats.
    package func multiply(_ input: [Float], batch: Int, pool: ComputePool, precision: ActivationPrecision, kernels: KernelSet,
                          into output: inout [Float]) {
        precondition(input.count >= batch * cols && output.count >= batch * rows)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                if precision == .int8, let int8 = kernels.int8,
                   int8.multiply(quantized, repacked: repacked, xBase, batch: batch, pool: pool, into: yBase) { return }
                multiplyFloat(xBase, batch: batch, pool: pool, vector: kernels.vector, into: yBase)
            }
        }
    }

    private func multiplyFloat(_ x: UnsafePointer<Float>, batch: Int, pool: ComputePool, vector: any VectorKernels,
                               into y: UnsafeMutablePointer<Float>) {
        pool.forEachRowRange(rows: rows, batch: batch) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { scratch.deallocate() }
            for r in range {
                row(r, into: scratch)
                var b = 0
                while b + 4 <= batch {
                    let x0 = x + b * cols
                    let d = vector.dot4(scratch, x0, x0 + cols, x0 + 2 * cols, x0 + 3 * cols, cols)
                    y[b * rows + r] = d.0
                    y[(b + 1) * rows + r] = d.1
                    y[(b + 2) * rows + r] = d.2
                    y[(b + 3) * rows + r] = d.3
                    b += 4
                }
                while b < batch {
                    y[b * rows + r] = vector.dot(scratch, x + b * cols, cols)
                    b += 1
                }
            }
        }
    }
}
