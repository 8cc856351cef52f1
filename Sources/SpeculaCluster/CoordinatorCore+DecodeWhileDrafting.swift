import Foundation
import SpeculaCore
import SpeculaNet

/// Decoding while drafting: in a request's first round, and after a round that was not accepted
/// whole, the workers draft from scratch (their blocks drafted ahead guessed a whole acceptance)
/// and the target would idle for γ draft steps (and the workers' prompt pass, in a first round).
/// Instead it runs its pass for the round's first position meanwhile and asks for blocks one token
/// longer. When the drafts are fixed, the first token t is chosen from the target's row there,
/// coupled with the drafts' first tokens (`FirstTokenCoupling`); the blocks that begin with t serve
/// from their second token on as blocks of γ, and when none does the round starts over from t.
///
/// Lossless: t follows the target's row (a verifier's first emitted token does, whatever the
/// rows deeper in its tree), and the choice sees only the drafts' first tokens; given its first
/// token a block's remaining tokens are drawn from exactly the rows it shipped for the context
/// that ends in t, so the blocks kept are independent drafts of the right law for that context,
/// however many there are.
extension CoordinatorCore {
    /// Whether the round about to start should decode its first token with the target: its
    /// workers could not have drafted it ahead (it is the request's first round — the target reads
    /// the prompt meanwhile — or the last round was not accepted whole, while workers guess that
    /// it is) and the target has nothing else to do.
    func decodesWhileDrafting(_ request: GenerationRequest) -> Bool {
        options.decodeWhileDrafting && !request.lastRoundAcceptedWhole && !scoring && readyRounds.isEmpty
    }

    /// Queues the target's pass for the current round's first token.
    func startDecodingWhileDrafting(_ id: UInt64) {
        guard let request = requests[id] else { return }
        let (tree, rows, _) = RoundTree.build(drafts: [], rows: [])
        var round = ClosedRound(id: id, round: request.round, tree: tree, draftRows: rows, draftIndices: [], waited: 0, draftedAhead: 0)
        round.decodesWhileDrafting = true
        enqueue(round)
    }

    /// The target's pass for a round's first token is done: the token is chosen once the round's
    /// drafts are fixed (at once if they already are).
    func decodedWhileDrafting(_ round: ClosedRound, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        guard var request = requests[round.id], case .decoding(let fixed) = request.whileDrafting else { return }
        scorer.accept(request: round.id, nodes: [])
        request.whileDrafting = .scored(GenerationRequest.OwnPass(row: targetRows[0], at: Date(), micros: scoreMicros, batch: batch))
        requests[round.id] = request
        if let fixed { queueRound(round.id, fixed) }
    }

    /// Chooses the target's token for the round's first position, coupled with the drafts' first
    /// tokens (`FirstTokenCoupling`), and emits it. Returns false when it finished the request.
    func chooseOwnToken(_ pass: GenerationRequest.OwnPass, firsts: [(token: Token, row: SparseDistribution)], request: inout GenerationRequest) -> Bool {
        let token = FirstTokenCoupling.token(verifier: request.verifier, targetRow: pass.row, firsts: firsts, choices: &request.choices)
        var stats = RoundStats()
        stats.round = request.round
        stats.targetMicros = pass.micros
        stats.batchSize = UInt32(pass.batch)
        stats.adaptive = request.adaptive
        stats.decodedWhileDrafting = true
        request.whileDrafting = .decoded(token, at: pass.at)
        return emit([token], acceptedDraftTokens: 0, stats: stats, request: &request)
    }
}
