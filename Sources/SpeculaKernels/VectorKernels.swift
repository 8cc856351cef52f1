/// The engine's float loops that one kernel level implements for its instructions: dot
/// products, the softmax's maximum and exponentials, SwiGLU, widening half-precision keys and
/// values, and the integer sums of the candidate head's sketch.
///
/// Each implementation keeps one fixed order of operations per output, whatever the batch, so
/// that a pass equals token-by-token decoding bitwise within a level (levels may differ from
/// each other in the last bits).
package protocol VectorKernels: Sendable {
    /// Σ a[i]·b[i] for i < n.
    func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float
    /// Four dot products of `a` with `b0…b3`, each bitwise what `dot` gives.
    func dot4(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ b2: UnsafePointer<Float>,
              _ b3: UnsafePointer<Float>, _ n: Int) -> (Float, Float, Float, Float)
    /// The largest of `x[0..<n]` (−∞ when n = 0).
    func maximum(_ x: UnsafePointer<Float>, _ n: Int) -> Float
    /// `x[i] = exp(x[i] − m)` for i < n; returns Σ of the new values.
    func exponentiate(_ x: UnsafeMutablePointer<Float>, _ n: Int, minus m: Float) -> Float
    /// `gate[i] = g · σ(g) · up[i]` with `g = gate[i]`, for i < n.
    func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int)
    /// `out[i] = Float(x[i])` for i < n.
    func widen(_ x: UnsafePointer<Float16>, _ n: Int, into out: UnsafeMutablePointer<Float>)
    /// Attention scores of queries against a block of keys (`AttentionScores`).
    func attentionScores(rows: Int, query: (Int) -> UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int, dimensions: Int,
                         scale: Float, valid: Int, destination: (Int) -> UnsafeMutablePointer<Float>)
    /// `out += Σ_j weights[j] · values[j]` (`WeightedValues`).
    func accumulateWeightedValues(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, count: Int, dimensions: Int,
                                  into out: UnsafeMutablePointer<Float>)
    /// For each row r in `rows` and each token t: Σ over the columns c whose sign bit is set in
    /// row r (`signs`, `wordsPerRow` words of 64 columns a row) of `codes[t][c]`, into
    /// `sums[t][r]` — exact integers, the same at every level.
    func signSelectedSums(signs: UnsafePointer<UInt64>, wordsPerRow: Int, rows: Range<Int>,
                          codes: [UnsafePointer<UInt8>], into sums: [UnsafeMutablePointer<Int32>])
}
