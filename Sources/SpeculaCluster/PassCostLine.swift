/// The target pass cost as a least-squares line over observed passes, `cost(B) = fixed +
/// perToken·B` microseconds (B = tokens in the pass): on a CPU a pass grows with its length, on a
/// GPU it hardly does. A fact about the target and its hardware, shared by every request's
/// planning (`SpeculationPlanner`).
package struct PassCostLine: Sendable {
    private var n = 0.0, sumX = 0.0, sumY = 0.0, sumXX = 0.0, sumXY = 0.0

    package init() {}

    /// (fixed, per token), microseconds; before two passes are seen, a GPU-like flat cost.
    package var line: (fixed: Double, perToken: Double) {
        guard n >= 2 else { return (1, 0.1) }
        let denominator = n * sumXX - sumX * sumX
        guard denominator > 0 else { return (sumY / n, 0) }
        let slope = max(0, (n * sumXY - sumX * sumY) / denominator)
        return (max(1, (sumY - slope * sumX) / n), slope)
    }

    package mutating func observe(tokens: Int, micros: Double) {
        let x = Double(tokens)
        n += 1; sumX += x; sumY += micros; sumXX += x * x; sumXY += x * micros
    }
}
