/// Exponential backoff with jitter for reconnecting clients.
///
/// Attempt n (0-based) waits `min(maximum, initial · multiplier^n)`, of which the second half is
/// random ("equal jitter"): never less than half the nominal delay, so a crowd of workers that lost
/// the same coordinator spreads out instead of reconnecting in lock-step.
package struct ReconnectBackoff: Sendable {
    package var initialMs: Double = 100
    package var maximumMs: Double = 10_000
    package var multiplier: Double = 2

    package init(initialMs: Double = 100, maximumMs: Double = 10_000, multiplier: Double = 2) {
        self.initialMs = initialMs
        self.maximumMs = maximumMs
        self.multiplier = multiplier
    }

    /// The nominal (jitter-free) delay before attempt `attempt`.
    package func nominalDelayMs(attempt: Int) -> Double {
        var delay = initialMs
        for _ in 0..<min(attempt, 64) {
            delay *= multiplier
            if delay >= maximumMs { return maximumMs }
        }
        return min(delay, maximumMs)
    }

    /// The delay before attempt `attempt`, in [nominal/2, nominal].
    package func delayMs(attempt: Int, using random: inout some RandomNumberGenerator) -> Double {
        let nominal = nominalDelayMs(attempt: attempt)
        return nominal / 2 + Double.random(in: 0...(nominal / 2), using: &random)
    }
}
