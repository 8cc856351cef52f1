/// A model-free drafter: proposes the next token after a context, or nothing (the draft ends).
///
/// Its draft law is a point mass (a row with one token of probability 1): a valid draft law, so
/// every verifier stays exact whatever it proposes. It needs no weights and works on token ids
/// (prompt lookup, suffix matching over earlier outputs).
package protocol TokenProposer: Sendable {
    /// The token to draft after `context`, or nil when it has nothing to propose.
    func propose(after context: [Token]) -> Token?
}

extension SparseDistribution {
    /// The law that puts all its mass on `token`: a model-free drafter's row.
    package static func pointMass(_ token: Token) -> SparseDistribution {
        SparseDistribution(tokens: [token], weights: [1])
    }
}
