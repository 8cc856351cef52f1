import Foundation
import SpeculaCore
import SpeculaNet

/// The target's own token while drafts are in flight.
///
/// When a round's block was not accepted whole, no worker drafted ahead on the right guess: the
/// next round's drafts are drafted from scratch, and the target would idle for the time of a
/// whole block. Instead it decodes one token by itself (a root-only pass, exactly a step of plain
/// decoding), streams it, and the round then verifies only the drafts whose first token is that
/// token, without it.
///
/// Lossless: the token is the target's own sample; which drafts take part then depends only on
/// their first tokens, and given its first token a draft's remaining tokens are a draw from the
/// draft model after exactly the context the target wrote, with the rows it shipped for them, so
/// the verifier sees independent drafts from their stated distributions, as in any round.
extension CoordinatorCore {
    /// Queues a root-only pass for request `id`, whose round's drafts are in flight.
    func startSelfDecode(_ id: UInt64) {
        guard var request = requests[id], !request.selfDecoding else { return }
        request.selfDecoding = true
        requests[id] = request
        let (tree, draftRows, _) = RoundTree.build(drafts: [], rows: [])
        queue(ClosedRound(id: id, round: request.round, tree: tree, draftRows: draftRows, draftIndices: [], waited: 0,
                          draftedAhead: 0, blockLength: 0, selfDecode: true))
    }

    /// Samples the target's token from its row, streams it, and lets the round close.
    func selfDecoded(_ round: ClosedRound, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        let id = round.id
        guard var request = requests[id], request.round == round.round else { return }
        let problem = VerificationProblem(tree: round.tree, draft: round.draftRows, target: targetRows, blockLength: 0)
        let outcome = request.verifier.verify(problem, choices: &request.choices)
        scorer.accept(request: id, nodes: [])
        request.selfDecoding = false
        let (emitted, delta, finish) = append(outcome.emittedTokens, to: &request)
        var stats = RoundStats()
        stats.round = request.round
        stats.selfDecoded = true
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        send(emitted, delta, stats: [stats], of: request)
        metrics.add(CoordinatorMetrics.tokens, Double(emitted.count))
        if let finish {
            syncWorkers(request, finished: true)
            end(request, finish)
            return
        }
        requests[id] = request
        if request.closeAfterSelfDecode || request.allDraftsArrived { finishRound(id) }
    }
}
