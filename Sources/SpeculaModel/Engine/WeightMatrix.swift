import Dispatch

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
    /// The int8 product on the rows repacked with a row per lane (`interleavedForInt8`), bound to
    /// the repacked bytes and specialized for their layout.
    private var interleavedProduct: InterleavedProduct?

    /// `y = W·x` for a batch: (matrix, x, batch, pool, y).
    private typealias InterleavedProduct = @Sendable (WeightMatrix, UnsafePointer<Float>, Int, ComputePool, UnsafeMutablePointer<Float>) -> Void

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

    /// This matrix with its rows also repacked for the int8 path where a layout with a row per
    /// lane exists (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K: `InterleavedLayout`; others return `self`), on
    /// `pool`'s threads. The file's bytes stay mapped for the float path and for row lookups, but
    /// their pages are released (read again only if used): the repacked copy is what the int8
    /// products read, as many bytes as the file's (3 % more for Q4_K).
    package func interleavedForInt8(pool: ComputePool) -> WeightMatrix {
        guard interleavedProduct == nil, rows % 16 == 0, cols % 64 == 0 else { return self }
        // Each layout named as a type, not through an existential: the kernels must be specialized.
        switch type {
        case .q4_K: return interleaved(InterleavedQ4_K.self, pool: pool)
        case .q6_K: return interleaved(InterleavedQ6_K.self, pool: pool)
        case .q4_0: return interleaved(InterleavedQ4_0.self, pool: pool)
        case .q4_1: return interleaved(InterleavedQ4_1.self, pool: pool)
        case .q5_0: return interleaved(InterleavedQ5_0.self, pool: pool)
        case .q8_0: return interleaved(InterleavedQ8_0.self, pool: pool)
        default: return self
        }
    }

    private func interleaved<L: InterleavedLayout>(_ layout: L.Type, pool: ComputePool) -> WeightMatrix {
        let groups = rows / L.rowsPerGroup, superblocks = cols / L.superblockSpan, source = data
        var copy = self
        let bytes = WeightBytes(byteCount: groups * superblocks * L.groupBytes) { bytes in
            pool.run(chunks: groups) { g in L.repack(group: g, superblocks: superblocks, from: source, into: bytes) }
        }
        copy.interleavedProduct = { matrix, x, batch, pool, y in matrix.multiplyInterleaved(L.self, bytes, x, batch: batch, pool: pool, into: y) }
        (owner as? GGUFFile)?.releasePages(data, byteCount: rows * rowBytes)
        return copy
    }

    /// Dequantizes row `r` into `out` (`cols` floats).
    package func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, data + r * rowBytes, count: cols, into: out)
    }

    /// `output[b·rows + r] = Σ_c W[r, c] · input[b·cols + c]` for b < batch, on `pool`'s threads.
    ///
    /// With `.int8`, quantized rows (in whole chunks of 64) take the integer kernels on 8-bit
    /// activations: 16 rows at a time when repacked (`InterleavedDot`), else row by row
    /// (`IntegerDot`, `SuperblockDot`); otherwise rows are dequantized and multiplied in floats.
    package func multiply(_ input: [Float], batch: Int, pool: ComputePool, precision: ActivationPrecision, into output: inout [Float]) {
        precondition(input.count >= batch * cols && output.count >= batch * rows)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                let xBase = x.baseAddress!, yBase = y.baseAddress!
                guard precision == .int8, cols % 64 == 0 else { return multiplyFloat(xBase, batch: batch, pool: pool, into: yBase) }
                if let interleavedProduct { return interleavedProduct(self, xBase, batch, pool, yBase) }
                switch type {
                case .q4_0: multiplyInteger(Q4_0Chunk.self, xBase, batch: batch, pool: pool, into: yBase)
                case .q4_1: multiplyInteger(Q4_1Chunk.self, xBase, batch: batch, pool: pool, into: yBase)
                case .q5_0: multiplyInteger(Q5_0Chunk.self, xBase, batch: batch, pool: pool, into: yBase)
                case .q8_0: multiplyInteger(Q8_0Chunk.self, xBase, batch: batch, pool: pool, into: yBase)
                case .q4_K: multiplySuperblocks(Q4_KBlock.self, xBase, batch: batch, pool: pool, into: yBase)
                case .q6_K: multiplySuperblocks(Q6_KBlock.self, xBase, batch: batch, pool: pool, into: yBase)
                default: multiplyFloat(xBase, batch: batch, pool: pool, into: yBase)
                }
            }
        }
    }

    /// The products with each weight format's integer kernel, on activations quantized the way
    /// that kernel reads them.
    private func multiplyInteger<L: ChunkLayout>(_ layout: L.Type, _ input: UnsafePointer<Float>, batch: Int, pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: cols, codeOffsetShift: L.codeOffsetShift ?? 0)
        let tokens = (0..<batch).map { IntegerDot.Row(x, token: $0) }
        forEachRow(pool: pool, kernel: IntegerDot.Kernel<L>(cols: cols, group: x.groupSize), tokens: tokens, into: y)
    }

    private func multiplySuperblocks<L: SuperblockLayout>(_ layout: L.Type, _ input: UnsafePointer<Float>, batch: Int, pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: cols, codeOrder: .pieceMajor(pieceBytes: L.pieceBytes))
        let tokens = (0..<batch).map { SuperblockDot.Row(L.self, x, token: $0) }
        forEachRow(pool: pool, kernel: SuperblockDot.Kernel<L>(cols: cols), tokens: tokens, into: y)
    }

    /// The products with 16 rows at a time (`InterleavedDot`): for each block of rows, each tile
    /// of tokens over each group of the block, as `forEachRow` does row by row. Only the first
    /// tile prefetches: the others find the block's weights in cache.
    private func multiplyInterleaved<L: InterleavedLayout>(_ layout: L.Type, _ packed: WeightBytes, _ input: UnsafePointer<Float>, batch: Int,
                                                            pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        let x = QuantizedActivations(input, batch: batch, cols: cols)
        let kernel = InterleavedDot.Kernel<L>(cols: cols, activationGroup: x.groupSize), rows = rows
        let activations = InterleavedActivations(x, shape: kernel.shape)
        let tiles = activations.tiles
        let tokens = tiles.flatMap { tile in (0..<tile.width.rawValue).map { tile.start + 4 * $0 } }
        let groupStride = cols / L.superblockSpan * L.groupBytes, groupRows = L.rowsPerGroup
        let base = UnsafeRawPointer(packed.pointer)
        tokens.withUnsafeBufferPointer { tokens in
            forEachRowRange(pool: pool, batch: batch, granule: groupRows) { range in
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
    private func forEachRow<K: TileKernel>(pool: ComputePool, kernel: K, tokens: [K.State.Row], into y: UnsafeMutablePointer<Float>) {
        let batch = tokens.count, rows = rows
        tokens.withUnsafeBufferPointer { tokens in
            let x = tokens.baseAddress!
            forEachRowRange(pool: pool, batch: batch) { range in
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

    private func multiplyFloat(_ x: UnsafePointer<Float>, batch: Int, pool: ComputePool, into y: UnsafeMutablePointer<Float>) {
        forEachRowRange(pool: pool, batch: batch) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { scratch.deallocate() }
            for r in range {
                row(r, into: scratch)
                var b = 0
                while b + 4 <= batch {
                    let x0 = x + b * cols
                    let d = Kernels.dot4(scratch, x0, x0 + cols, x0 + 2 * cols, x0 + 3 * cols, cols)
                    y[b * rows + r] = d.0
                    y[(b + 1) * rows + r] = d.1
                    y[(b + 2) * rows + r] = d.2
                    y[(b + 3) * rows + r] = d.3
                    b += 4
                }
                while b < batch {
                    y[b * rows + r] = Kernels.dot(scratch, x + b * cols, cols)
                    b += 1
                }
            }
        }
    }

    /// Runs `body` over disjoint ranges of output rows covering all rows on `pool`'s threads
    /// (small matrices on the calling thread alone). A single token's product, bound by memory,
    /// takes one contiguous range per thread (one stream for the prefetchers each); a batch's,
    /// bound by arithmetic, is cut into `chunksPerThread` times as many ranges, handed to
    /// whichever thread is free, so a thread slowed by the system does not hold up the other.
    /// Measured on the 1.5B target, 2 threads, passes of 8–16 tokens: 4–14 % faster (median of
    /// interleaved runs); single tokens unchanged.
    /// Range bounds are multiples of `granule`, which divides `rows`.
    private func forEachRowRange(pool: ComputePool, batch: Int, granule: Int = 1, _ body: (Range<Int>) -> Void) {
        let rows = rows, parts = pool.threads, units = rows / granule
        guard parts > 1, rows >= 64 else { return body(0..<rows) }
        let chunks = batch == 1 ? parts : min(parts * Self.chunksPerThread, rows / 16)
        pool.run(chunks: chunks) { c in body(granule * (units * c / chunks)..<granule * (units * (c + 1) / chunks)) }
    }

    private static let chunksPerThread = 8
    private static let rowBlock = 32
}

/// Raw weight blocks owned in memory rather than mapped from a file: matrices built by tests
/// and tools, and the engine's repacked copies (`WeightMatrix.interleavedForInt8`).
package final class WeightBytes: @unchecked Sendable {
    // @unchecked Sendable invariant: the bytes are written once, in `init`, then only read.
    let pointer: UnsafeMutableRawPointer
    let count: Int

    package convenience init(_ bytes: [UInt8]) {
        self.init(byteCount: bytes.count) { pointer in
            bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        }
    }

    /// `byteCount` bytes (64-byte aligned) written by `fill`.
    init(byteCount: Int, fill: (UnsafeMutableRawPointer) -> Void) {
        count = byteCount
        pointer = .allocate(byteCount: max(byteCount, 1), alignment: 64)
        fill(pointer)
    }

    deinit { pointer.deallocate() }
}
