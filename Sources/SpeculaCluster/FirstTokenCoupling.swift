package import SpeculaCore

/// The target's token at a position a finished pass scored (`SpeculationCore+Passes`: after a pass
/// accepted all it was given, or scored the newest token alone), coupled with the live drafts'
/// tokens there: the verifier runs on the one-level tree of those tokens, every node given the
/// target's row at the root, and its first emitted token is the answer (a bonus token drawn from
/// a leaf is not used).
///
/// Why this is lossless: a verifier's first emitted token follows the target's row at the root
/// whatever the target's rows deeper in its tree, and this decision sees the drafts' first tokens
/// only — so the drafts that begin with the chosen token still continue with their own law, and
/// independently of each other. And it matches a first token as often as the verifier can make
/// it (1 − TV(p, q) for one draft and token-level rejection) instead of Σ p·q for an independent
/// sample.
package enum FirstTokenCoupling {
    /// `firsts`: each draft's first token, the draft row it was drawn from and its pool.
    package static func token<Choices: RandomChoices>(verifier: any Verifier, targetRow: DenseDistribution,
                                                      firsts: [(token: Token, row: SparseDistribution, pool: Int)], choices: inout Choices) -> Token {
        let merged = PassTree(drafts: firsts.map { [$0.token] }, rows: firsts.map { [$0.row] }, pools: firsts.map(\.pool))
        let problem = merged.problem(target: Array(repeating: targetRow, count: merged.tree.count), blockLength: 1)
        guard let token = verifier.verify(problem, choices: &choices).emittedTokens.first else {
            preconditionFailure("a verifier emits at least one token")
        }
        return token
    }
}
