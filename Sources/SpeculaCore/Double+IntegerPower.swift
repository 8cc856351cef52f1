extension Double {
    /// `self` raised to a small non-negative integer power by repeated multiplication (exact
    /// enough for the verifiers' (1 − β)^k and max-law sums, and free of `pow`'s special cases).
    package func power(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent { result *= self }
        return result
    }
}
