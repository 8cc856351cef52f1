/// Small float loops the engine runs the same way at every kernel level (the level's own loops
/// are its `VectorKernels`).
enum Kernels {
    /// `x[i]` rounded to the nearest half-precision float (kept as a 32-bit float).
    static func roundToHalf(_ x: inout [Float]) {
        for i in x.indices { x[i] = Float(Float16(x[i])) }
    }

    /// RMSNorm: out = x / sqrt(mean(x²) + eps) · weight.
    static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float, count: Int, into out: UnsafeMutablePointer<Float>) {
        var sum: Float = 0
        for i in 0..<count { sum += x[i] * x[i] }
        let scale = 1 / (sum / Float(count) + eps).squareRoot()
        for i in 0..<count { out[i] = x[i] * scale * weight[i] }
    }
}
