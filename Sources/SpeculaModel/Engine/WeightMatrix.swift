import Dispatch

/// A weight tensor `[cols, rows]` (ggml `ne = [cols, rows]`): row r holds the `cols` input weights
/// of output r. Multiplies a batch of activation vectors, reading each weight row once per batch.
///
/// Batch invariance: output (b, r) is always `dot(dequantized row r, x_b)` with one fixed
/// summation order, whatever the batch size or the thread split, so a token's result is bitwise
/// the same alone or inside a verification pass (design.md, "Batch invariance").
struct WeightMatrix: @unchecked Sendable {
    // @unchecked Sendable invariant: `data` points into a read-only mapping kept alive by `file`.
    let file: GGUFFile
    let data: UnsafeRawPointer
    let type: GGMLType
    let rows: Int
    let cols: Int
    let rowBytes: Int

    init(file: GGUFFile, name: String, rows: Int, cols: Int) throws(GGUFError) {
        let info = try file.tensor(name)
        guard info.dimensions.count >= 1, info.dimensions[0] == cols, info.elementCount == rows * cols else {
            throw .shapeMismatch(tensor: name, expected: [cols, rows], found: info.dimensions, path: file.path)
        }
        guard info.type.isSupported else { throw .unsupportedType(tensor: name, type: info.type.rawValue, path: file.path) }
        self.file = file
        self.data = file.pointer(to: info)
        self.type = info.type
        self.rows = rows
        self.cols = cols
        self.rowBytes = info.type.byteCount(elements: cols)
    }

    /// Dequantizes row `r` into `out` (`cols` floats).
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, data + r * rowBytes, count: cols, into: out)
    }

    /// `output[b·rows + r] = Σ_c W[r, c] · input[b·cols + c]` for b < batch, on `threads` threads.
    func multiply(_ input: [Float], batch: Int, threads: Int, into output: inout [Float]) {
        precondition(input.count >= batch * cols && output.count >= batch * rows)
        let chunks = min(max(threads, 1) * 4, rows)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                let work = { (chunk: Int) in
                    let start = rows * chunk / chunks, end = rows * (chunk + 1) / chunks
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                    defer { scratch.deallocate() }
                    for r in start..<end {
                        row(r, into: scratch)
                        var b = 0
                        while b + 4 <= batch {
                            let x0 = xBase + b * cols
                            let d = Kernels.dot4(scratch, x0, x0 + cols, x0 + 2 * cols, x0 + 3 * cols, cols)
                            yBase[b * rows + r] = d.0
                            yBase[(b + 1) * rows + r] = d.1
                            yBase[(b + 2) * rows + r] = d.2
                            yBase[(b + 3) * rows + r] = d.3
                            b += 4
                        }
                        while b < batch {
                            yBase[b * rows + r] = Kernels.dot(scratch, xBase + b * cols, cols)
                            b += 1
                        }
                    }
                }
                if threads <= 1 || rows < 64 {
                    for chunk in 0..<chunks { work(chunk) }
                } else {
                    nonisolated(unsafe) let run = work  // chunks write disjoint output rows
                    DispatchQueue.concurrentPerform(iterations: chunks) { run($0) }
                }
            }
        }
    }
}
