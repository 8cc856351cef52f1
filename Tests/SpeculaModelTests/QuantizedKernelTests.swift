import SpeculaCore
import SpeculaKernels
import SpeculaModel
import Testing

/// The integer kernels of every quantized weight type against a float64 sum over the same
/// dequantized weights and the same 8-bit activation codes (so the only difference is float
/// rounding), the float path against plain float64, and the batch invariance of both.
struct QuantizedKernelTests {
    /// (type, block elements, block bytes, f16 scale offsets with magnitudes).
    static let layouts: [(GGMLType, Int, Int, [(Int, Float)])] = [
        (.q4_0, 32, 18, [(0, 0.02)]),
        (.q4_1, 32, 20, [(0, 0.01), (2, 0.05)]),
        (.q5_0, 32, 22, [(0, 0.01)]),
        (.q8_0, 32, 34, [(0, 0.001)]),
        (.q4_K, 256, 144, [(0, 0.002), (2, 0.002)]),
        (.q6_K, 256, 210, [(208, 0.00005)]),
    ]

    /// Random blocks with small finite f16 scales.
    static func randomMatrix(_ type: GGMLType, blockElements: Int, blockBytes: Int, scales: [(Int, Float)], rows: Int, cols: Int, random: inout RandomStream) -> WeightMatrix {
        let blocks = rows * cols / blockElements
        var bytes = (0..<blocks * blockBytes).map { _ in UInt8.random(in: 0...255, using: &random) }
        for b in 0..<blocks {
            for (offset, magnitude) in scales {
                let value = Float16(magnitude * Float.random(in: 0.5...1, using: &random)).bitPattern
                bytes[b * blockBytes + offset] = UInt8(value & 0xFF)
                bytes[b * blockBytes + offset + 1] = UInt8(value >> 8)
            }
        }
        return WeightMatrix(bytes: WeightBytes(bytes), type: type, rows: rows, cols: cols)
    }

    /// The engine's activation rounding in groups of `group`, restated: codes times scales.
    static func roundedActivations(_ x: [Float], group: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: group) {
            let d = x[start..<start + group].map(abs).max()! / 127
            let inverse: Float = d == 0 ? 0 : 1 / d
            for i in start..<start + group { out[i] = Double((x[i] * inverse).rounded(.toNearestOrEven)) * Double(d) }
        }
        return out
    }

    /// Rows of 384 and 2,432 take activation groups of 128; 2,432 and 4,864 are as long as the
    /// models' longest rows (ffn_down).
    /// At every kernel level this CPU runs; a level without integer kernels (portable) takes the
    /// float path for `.int8` too.
    @Test(arguments: KernelLevel.available(on: .current), [192, 256, 384, 512, 2432, 4864])
    func integerAndFloatProductsMatchFloat64(level: KernelLevel, cols: Int) {
        let kernels = KernelSet.of(level)
        var random = RandomStream(seed: UInt64(cols))
        let rows = 96, batch = 13
        for (type, elements, bytes, scales) in Self.layouts where cols % elements == 0 {
            let file = Self.randomMatrix(type, blockElements: elements, blockBytes: bytes, scales: scales, rows: rows, cols: cols, random: &random)
            let x = (0..<batch * cols).map { _ in Float.random(in: -2...2, using: &random) * (Bool.random(using: &random) ? 1 : 10) }
            let rounded = Self.roundedActivations(x, group: kernels.int8?.activationGroup(for: type, cols: cols) ?? cols)
            var weights = [Float](repeating: 0, count: cols)
            // The int8 path also runs on the rows repacked 16 at a time (every quantized format).
            let repacked = type != .f32 && type != .f16 ? [(file.interleavedForInt8(pool: ComputePool(threads: 2), kernels: kernels), ActivationPrecision.int8, " repacked")] : []
            for (matrix, precision, layout) in ActivationPrecision.allCases.map({ (file, $0, "") }) + repacked {
                var y = [Float](repeating: 0, count: batch * rows)
                matrix.multiply(x, batch: batch, pool: ComputePool(threads: 2), precision: precision, kernels: kernels, into: &y)
                var worst = 0.0
                for r in 0..<rows {
                    weights.withUnsafeMutableBufferPointer { matrix.row(r, into: $0.baseAddress!) }
                    for b in 0..<batch {
                        var expected = 0.0, magnitude = 0.0
                        for c in 0..<cols {
                            let a = precision == .int8 && kernels.int8 != nil ? rounded[b * cols + c] : Double(x[b * cols + c])
                            expected += Double(weights[c]) * a
                            magnitude += abs(Double(weights[c]) * a)
                        }
                        worst = max(worst, abs(Double(y[b * rows + r]) - expected) / max(magnitude, 1e-30))
                    }
                }
                #expect(worst < 1e-5, "\(level) \(type)\(layout) \(precision) cols \(cols): relative error \(worst)")
                // Each token alone (a tile of one), or in a smaller batch (a tile of each width),
                // gives bitwise its result inside the batch of 13 (tiles of eight and five).
                for b in 0..<batch {
                    var alone = [Float](repeating: 0, count: rows)
                    matrix.multiply(Array(x[b * cols..<(b + 1) * cols]), batch: 1, pool: ComputePool(threads: 1), precision: precision, kernels: kernels, into: &alone)
                    #expect(alone == Array(y[b * rows..<(b + 1) * rows]), "\(type)\(layout) \(precision): token \(b) differs alone")
                }
                for smaller in [7, 6, 5, 4, 3, 2] {
                    var part = [Float](repeating: 0, count: smaller * rows)
                    matrix.multiply(Array(x[(batch - smaller) * cols..<batch * cols]), batch: smaller, pool: ComputePool(threads: 2), precision: precision, kernels: kernels, into: &part)
                    #expect(part == Array(y[(batch - smaller) * rows..<batch * rows]), "\(type)\(layout) \(precision): a batch of \(smaller) differs")
                }
            }
        }
    }

    /// Requantizing to Q4_0 (drafts' output matrices) moves every weight by at most half a step of
    /// its block — except weights beyond code 15 on the side opposite the block's extreme, clamped
    /// to 7 steps as ggml's quantizer clamps them — and keeps each block's extreme weight (up to
    /// the f16 rounding of the scale).
    @Test func requantizingToQ4_0MovesWeightsByAtMostHalfAStep() {
        var random = RandomStream(seed: 41)
        let rows = 48, cols = 128
        let original = Self.randomMatrix(.q8_0, blockElements: 32, blockBytes: 34, scales: [(0, 0.001)], rows: rows, cols: cols, random: &random)
        let requantized = original.requantizedAsQ4_0(pool: ComputePool(threads: 2))
        var before = [Float](repeating: 0, count: cols), after = [Float](repeating: 0, count: cols)
        var worst: Float = 0
        for r in 0..<rows {
            original.row(r, into: &before)
            requantized.row(r, into: &after)
            for b in 0..<cols / 32 {
                let block = b * 32..<(b + 1) * 32
                let extreme = before[block].max { abs($0) < abs($1) }!, step = abs(extreme) / 8
                for i in block {
                    let allowed = max(0.5, abs(before[i]) / step - 7)
                    worst = max(worst, abs(after[i] - before[i]) / step - allowed + 0.5)
                }
                let at = before[block].firstIndex(of: extreme)!
                #expect(abs(after[at] - extreme) <= abs(extreme) * 1e-3, "row \(r) block \(b)")
            }
        }
        // The scale is an f16: up to 8 steps of its rounding (2^-11 relative) on top.
        #expect(worst <= 0.5 + 8.0 / 2048, "a weight moved \(worst) steps more than allowed + 0.5")
        #expect(worst > 0.3, "random weights should use most of the half step")
    }
}
