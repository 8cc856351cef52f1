import Foundation
import SpeculaCore
import SpeculaNet

/// Decoding while drafting: in a request's first round, and after a round that was not accepted
/// whole, the workers draft from scratch (their blocks drafted ahead guessed a whole acceptance)
/// and the target would idle for γ draft steps (and the workers' prompt pass, in a first round). Instead it decodes the round's first token t itself, in a pass of its
/// own, and asks for blocks of γ + 1 tokens: those that begin with t serve from their second
/// token on, as blocks of γ; when none does, the round starts over from t.
///
/// Lossless: t is the target's own sample, drawn with the request's choices; the drafts are
/// independent of it, and given its first token a block's remaining tokens are drawn from exactly
/// the rows it shipped for the context that ends in t. Keeping the blocks that begin with t thus
/// keeps independent drafts of the right law for that context, however many there are.
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
