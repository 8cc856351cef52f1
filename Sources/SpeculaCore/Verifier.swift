/// Decides how much of a draft tree to keep and which one token to add (vLLM's "rejection
/// sampler"; proposers and scorers live elsewhere).
///
/// A verifier is a pure function of the problem and its random choices; it never does I/O. It is
/// *lossless* when the emitted text has exactly the target's law whatever the draft model is.
/// Thread-safety: verifiers are immutable values, safe to share.
package protocol Verifier: Sendable {
    /// The name the CLI and the wire protocol use.
    var name: String { get }

    /// Verifies one round. `choices` supplies every random step (see `RandomChoices`).
    func verify<Choices: RandomChoices>(
        _ problem: VerificationProblem, choices: inout Choices
    ) -> VerificationOutcome
}

/// Acceptance helpers shared by the verifiers.
package enum Acceptance {
    /// min(1, w·q / p), with 0/0 = 0 and q/0 = ∞ (a token the draft could not have produced).
    package static func ratio(_ q: Double, over p: Double, weight w: Double = 1) -> Double {
        if p > 0 { return min(1, w * q / p) }
        return w * q > 0 ? 1 : 0
    }

    /// q / p as an ordering key: +∞ for a token the draft cannot produce (q > 0 = p), 0 for 0/0.
    package static func likelihoodRatio(_ q: Double, over p: Double) -> Double {
        if p > 0 { return q / p }
        return q > 0 ? .infinity : 0
    }
}
