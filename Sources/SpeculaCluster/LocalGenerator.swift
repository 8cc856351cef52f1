import Foundation
package import SpeculaCore

/// Speculative generation in one process, without a network: the same drafting (`Drafter`),
/// tree (`RoundTree`), scoring (`TargetScorer`) and verification as the cluster, one round at a
/// time. `specula generate --local` and `specula bench e2e` use it for side-by-side comparisons.
package final class LocalGenerator {
    /// What to generate and how.
    package struct Settings: Sendable {
        package var verifier: VerifierKind
        /// K; 0 = the target decodes alone.
        package var drafts: Int
        package var blockLength: Int
        package var sampling: SamplingParameters
        package var maxSupport = 64
        package var seed: UInt64 = 0
        package var maxTokens: Int

        package init(verifier: VerifierKind, drafts: Int, blockLength: Int, sampling: SamplingParameters, maxTokens: Int) {
            self.verifier = verifier
            self.drafts = drafts
            self.blockLength = blockLength
            self.sampling = sampling
            self.maxTokens = maxTokens
        }
    }

    /// What a generation cost.
    package struct Stats: Sendable, Codable {
        package var generated = 0
        package var targetPasses = 0
        package var acceptedDraftTokens = 0
        package var draftSeconds = 0.0
        package var targetSeconds = 0.0
        package var verifySeconds = 0.0
        package var totalSeconds = 0.0
        /// Rounds with drafts whose block was accepted at least up to position i + 1.
        package var acceptedAt: [Int] = []
        package var draftedRounds = 0

        package var tokensPerPass: Double { Double(generated) / Double(max(targetPasses, 1)) }

        package init() {}
    }

    private let target: ClusterModel
    private let drafter: Drafter?
    private let scorer: any TargetScorer
    private var nextRequest: UInt64 = 1

    package init(target: ClusterModel, draft: ClusterModel?) {
        self.target = target
        self.drafter = draft.map { Drafter(model: $0) }
        self.scorer = target.makeScorer()
    }

    /// Generates after `prompt` (non-empty); `onTokens` gets each round's new tokens.
    package func generate(prompt: [Token], settings: Settings, onTokens: ([Token]) -> Void = { _ in }) -> (tokens: [Token], stats: Stats) {
        let id = nextRequest
        nextRequest += 1
        defer { scorer.release(request: id) }
        let verifier = settings.verifier.makeVerifier()
        var choices = StreamChoices(RandomStream(seed: settings.seed, stream: .max))
        var context = prompt
        var stats = Stats()
        stats.acceptedAt = Array(repeating: 0, count: settings.blockLength)
        let started = Date()
        var round: UInt64 = 0
        while stats.generated < settings.maxTokens {
            round += 1
            let draftStart = Date()
            var drafts: [[Token]] = []
            var rows: [[SparseDistribution]] = []
            if let drafter, settings.drafts > 0 {
                let k = settings.verifier.usesMultipleDrafts ? settings.drafts : 1
                let blocks = drafter.blocks(after: context, length: settings.blockLength, sampling: settings.sampling, maxSupport: settings.maxSupport,
                                            streams: (0..<k).map { RandomStream(seed: settings.seed, stream: round << 20 | UInt64($0)) })
                for block in blocks {
                    drafts.append(block.tokens)
                    rows.append(block.rows.map { SparseShipping.distribution($0, vocabularySize: target.vocabularySize)! })
                }
            }
            let (tree, draftRows, _) = RoundTree.build(drafts: drafts, rows: rows)
            let scoreStart = Date()
            let targetRows = scorer.score(request: id, context: context, tree: tree, sampling: settings.sampling)
            let verifyStart = Date()
            let outcome = verifier.verify(VerificationProblem(tree: tree, draft: draftRows, target: targetRows, blockLength: settings.blockLength), choices: &choices)
            scorer.accept(request: id, nodes: Array(tree.nodePath(to: outcome.acceptedNode).dropFirst()))
            let done = Date()
            stats.draftSeconds += scoreStart.timeIntervalSince(draftStart)
            stats.targetSeconds += verifyStart.timeIntervalSince(scoreStart)
            stats.verifySeconds += done.timeIntervalSince(verifyStart)
            stats.targetPasses += 1
            if !drafts.isEmpty {
                stats.draftedRounds += 1
                for i in 0..<min(outcome.acceptedLength, settings.blockLength) { stats.acceptedAt[i] += 1 }
            }
            var emitted = Array(outcome.emittedTokens.prefix(settings.maxTokens - stats.generated))
            var finished = false
            if let eos = target.endOfSequence, let at = emitted.firstIndex(of: eos) {
                emitted = Array(emitted[...at])
                finished = true
            }
            stats.acceptedDraftTokens += min(outcome.acceptedLength, emitted.count)
            stats.generated += emitted.count
            context += emitted
            onTokens(emitted)
            if finished { break }
        }
        stats.totalSeconds = Date().timeIntervalSince(started)
        return (Array(context.dropFirst(prompt.count)), stats)
    }
}
