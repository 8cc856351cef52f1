/// The only way verifiers and drafting consume randomness: coin flips and draws from a law.
///
/// Expressing every random step as one of these two choices is what makes the algorithms testable
/// *exactly*: `ChoiceEnumerator` replays a program down every branch with its probability, while
/// `StreamChoices` answers with real random numbers. Same code path in both.
package protocol RandomChoices {
    /// True with probability `p` (clamped to [0, 1]).
    mutating func bernoulli(_ p: Double) -> Bool
    /// One token drawn from `law`.
    mutating func draw<Law: TokenLaw>(from law: Law) -> Token
}

/// `RandomChoices` backed by a `RandomStream`: the production source of randomness.
package struct StreamChoices: RandomChoices, Sendable {
    package var stream: RandomStream

    package init(_ stream: RandomStream) { self.stream = stream }

    package mutating func bernoulli(_ p: Double) -> Bool {
        stream.nextUnit() < p
    }

    package mutating func draw<Law: TokenLaw>(from law: Law) -> Token {
        law.sample(quantile: stream.nextUnit())
    }
}
