import Foundation
import SpeculaCore
import SpeculaKernels
import SpeculaModel
import Testing

/// The engine's vector exponential (softmax numerators in attention, SwiGLU's sigmoid) against
/// the C library's `exp`: within a few ulps over the range softmax and SwiGLU see, 0 far below
/// it, infinity above it, and every length (whole vectors of 16 and tails); at every kernel level
/// this CPU runs.
struct VectorExpTests {
    @Test(arguments: KernelLevel.available(on: .current), [1, 5, 16, 17, 40, 333])
    func softmaxNumeratorsMatchExp(level: KernelLevel, count: Int) {
        var random = RandomStream(seed: UInt64(count))
        let x = (0..<count).map { _ in Float.random(in: -30...30, using: &random) }
        let largest = x.max()!
        var y = x
        let sum = y.withUnsafeMutableBufferPointer { KernelSet.of(level).vector.exponentiate($0.baseAddress!, count, minus: largest) }
        var expectedSum = 0.0
        for i in 0..<count {
            let expected = Foundation.exp(Double(x[i] - largest))
            expectedSum += expected
            #expect(abs(Double(y[i]) - expected) <= 4e-7 * expected + 1e-38, "exp(\(x[i] - largest)) = \(y[i]), expected \(expected)")
        }
        #expect(abs(Double(sum) - expectedSum) <= 1e-6 * expectedSum)
    }

    @Test(arguments: KernelLevel.available(on: .current))
    func farBelowRangeIsZeroAndAboveIsInfinite(level: KernelLevel) {
        var y: [Float] = [-200, -104, -88, 0, 89, 200]
        _ = y.withUnsafeMutableBufferPointer { KernelSet.of(level).vector.exponentiate($0.baseAddress!, 6, minus: 0) }
        #expect(y[0] == 0 && y[1] <= 1.5e-45)
        #expect(y[2] > 0 && y[2] < 1e-37)
        #expect(y[3] == 1)
        #expect(y[4] == .infinity && y[5] == .infinity)
    }

    @Test(arguments: KernelLevel.available(on: .current))
    func swiGLUMatchesItsDefinition(level: KernelLevel) {
        var random = RandomStream(seed: 7)
        let count = 37
        let gate = (0..<count).map { _ in Float.random(in: -20...20, using: &random) }
        let up = (0..<count).map { _ in Float.random(in: -3...3, using: &random) }
        var out = gate
        out.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { u in KernelSet.of(level).vector.swiGLU(g.baseAddress!, u.baseAddress!, count) } }
        for i in 0..<count {
            let g = Double(gate[i]), expected = g / (1 + Foundation.exp(-g)) * Double(up[i])
            #expect(abs(Double(out[i]) - expected) <= 1e-6 * abs(expected) + 1e-30)
        }
    }
}
