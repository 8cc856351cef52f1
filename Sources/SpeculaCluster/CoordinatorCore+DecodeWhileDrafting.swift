import Foundation
import SpeculaCore
import SpeculaNet

/// Decoding while drafting: after a round that was not accepted whole, the workers draft the next
/// round from scratch (their blocks drafted ahead guessed a whole acceptance) and the target would
/// idle for γ draft steps. Instead it decodes the round's first token t itself, in a pass of its
/// own, and the round's drafts that begin with t serve from their second token on.
///
/// Lossless: t is the target's own sample, drawn with the request's choices; the drafts are
/// independent of it, and given its first token a block's remaining tokens are drawn from exactly
/// the rows it shipped for the context that ends in t. Keeping the blocks that begin with t thus
/// keeps independent drafts of the right law for that context, however many there are (none: the
/// round's pass decodes one more token alone, as a round without drafts does).
extension CoordinatorCore {
    /// Starts the target's pass for the current round's first token when the round's drafts are
    /// being made from scratch and the target has nothing else to do.
    func decodeWhileDraftingIfIdle(_ id: UInt64) {
        guard options.decodeWhileDrafting, var request = requests[id], request.rounds > 0, !request.lastRoundAcceptedWhole,
              request.blockLength > 1, !scoring, readyRounds.isEmpty else { return }
        request.whileDrafting = .decoding(fixed: nil)
        requests[id] = request
        let (tree, rows, _) = RoundTree.build(drafts: [], rows: [])
        var round = ClosedRound(id: id, round: request.round, tree: tree, draftRows: rows, draftIndices: [], waited: 0, draftedAhead: 0)
        round.decodesWhileDrafting = true
        enqueue(round)
    }

    /// The target's own first token of a round: emitted at once; the round's drafts, when already
    /// fixed, go to the next pass.
    func decodedWhileDrafting(_ round: ClosedRound, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        guard var request = requests[round.id], case .decoding(let fixed) = request.whileDrafting else { return }
        let problem = VerificationProblem(tree: round.tree, draft: round.draftRows, target: targetRows, blockLength: 0)
        let outcome = request.verifier.verify(problem, choices: &request.choices)
        scorer.accept(request: round.id, nodes: [])
        guard let token = outcome.emittedTokens.first else { preconditionFailure("a pass without drafts emits one token") }
        var stats = RoundStats()
        stats.round = request.round
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        stats.adaptive = request.adaptive
        stats.decodedWhileDrafting = true
        request.whileDrafting = .decoded(token, at: Date())
        guard emit([token], acceptedDraftTokens: 0, stats: stats, request: &request) else { return }
        requests[round.id] = request
        if let fixed { queueRound(round.id, fixed) }
    }
}
