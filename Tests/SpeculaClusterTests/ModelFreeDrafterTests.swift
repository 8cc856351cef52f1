import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet
import Testing

/// Model-free drafters: what prompt lookup and suffix drafting propose, the suffix drafter's
/// memory bound, the `--model` specs, and a worker session that ships point masses and says when
/// a draft ends.
struct ModelFreeDrafterTests {
    @Test func promptLookupCopiesWhatFollowedTheLongestRecentMatch() {
        let lookup = PromptLookup(longest: 3, shortest: 1)
        // "7 8 9" occurred before, followed by 4; the later "8 9 5" does not end the context.
        #expect(lookup.propose(after: [1, 7, 8, 9, 4, 8, 9, 5, 7, 8, 9]) == 4)
        // The 1-gram "9" occurred twice: the most recent occurrence wins.
        #expect(PromptLookup(longest: 1).propose(after: [9, 1, 9, 2, 9]) == 2)
        #expect(lookup.propose(after: [1, 2, 3]) == nil, "nothing to copy")
        #expect(lookup.propose(after: []) == nil)
    }

    @Test func suffixDraftingVotesOverEarlierRequestsAndTheContext() {
        let suffix = SuffixDrafter(longest: 4, memoryTokens: 1000)
        #expect(suffix.propose(after: [5, 6]) == nil, "nothing learnt, nothing to copy")
        suffix.learn([5, 6, 7, 1])
        suffix.learn([5, 6, 7, 2])
        suffix.learn([3, 6, 7, 2])
        #expect(suffix.propose(after: [5, 6]) == 7)
        // After "6 7": 2 twice, 1 once; the longer "5 6 7" saw 1 and 2 once each, and the tie
        // goes to the smaller id.
        #expect(suffix.propose(after: [9, 6, 7]) == 2)
        #expect(suffix.propose(after: [5, 6, 7]) == 1)
        // The context votes too: "6 7" followed by 1 twice here outweighs what was learnt.
        #expect(suffix.propose(after: [6, 7, 1, 6, 7, 1, 9, 6, 7]) == 1)
    }

    @Test func theSuffixDrafterForgetsTheOldestSequencesBeyondItsMemory() {
        let suffix = SuffixDrafter(longest: 2, memoryTokens: 8)
        suffix.learn([1, 2, 3, 4])
        suffix.learn([5, 6, 7, 8])
        #expect(suffix.learntTokens == 8 && suffix.propose(after: [1, 2]) == 3)
        suffix.learn([9, 10, 11])
        #expect(suffix.learntTokens == 7, "the oldest sequence is forgotten")
        #expect(suffix.propose(after: [1, 2]) == nil, "and so is what it taught")
        #expect(suffix.propose(after: [5, 6]) == 7)
    }

    @Test func modelFreeSpecsParseAndBadOnesSayWhy() throws {
        let lookup = try #require(try ModelFreeDrafter.parse("prompt-lookup:n=4,min=2,max=12"))
        #expect(lookup.fingerprint == "prompt-lookup:n=4,min=2" && lookup.maxLength == 12 && lookup.isStateless)
        let suffix = try #require(try ModelFreeDrafter.parse("suffix"))
        let other = try #require(try ModelFreeDrafter.parse("suffix"))
        #expect(suffix.fingerprint != other.fingerprint, "every suffix drafter is its own law")
        #expect(try ModelFreeDrafter.parse("model.gguf") == nil)
        for bad in ["prompt-lookup:n=0", "prompt-lookup:n=2,min=3", "prompt-lookup:size=3", "suffix:n", "suffix:memory=-1"] {
            #expect(throws: ClusterModelError.self, "\(bad)") { try ModelFreeDrafter.parse(bad) }
        }
    }

    /// A worker session of the drafter `spec` that began request 1's round 1 with `drafts` drafts
    /// after `context`, and that Speculate (to send again for a later round).
    static func session(_ spec: String, drafts: Int, context: [UInt32]) throws -> (DraftSession, Speculate) {
        let drafter = Drafter(modelFree: try #require(try ModelFreeDrafter.parse(spec)))
        var session = DraftSession(drafter: drafter, maxDrafts: 4, maxLookahead: 16, metrics: MetricsRegistry(), nodeID: "test")
        var speculate = Speculate()
        (speculate.requestID, speculate.round, speculate.numDrafts, speculate.lookahead) = (1, 1, UInt32(drafts), 16)
        speculate.contextTokens = context
        speculate.streamIDs = Array(0..<UInt64(drafts))
        #expect(session.begin(speculate, stale: false) == nil)
        return (session, speculate)
    }

    @Test func aSessionShipsItsWholeProposalAsPointMassesAndEndsADraftWithNothingToPropose() throws {
        var (session, speculate) = try Self.session("prompt-lookup:n=2,max=3", drafts: 4, context: [3, 4, 5, 3, 4])
        let step = session.step(1)
        let blocks = try #require(step)
        #expect(blocks.count == 1, "one draft: a model-free drafter's drafts would all be the same")
        #expect(blocks[0].tokens == [5, 3, 4], "copies what followed 3 4, up to max = 3 tokens, in one block")
        #expect(blocks[0].distributions == blocks[0].tokens.map { WireSparseDistribution(tokenIDs: [$0], probabilities: [1]) })
        #expect(session.step(1) == nil, "at its lookahead")
        speculate.round = 2
        speculate.contextTokens = [1, 2]
        #expect(session.begin(speculate, stale: false) == nil)
        let last = session.step(1)
        let ended = try #require(last)
        #expect(ended.count == 1 && ended[0].ended && ended[0].tokens.isEmpty && ended[0].basePosition == 2)
        #expect(session.step(1) == nil)
    }

    @Test func aModelFreeDraftRenewsItselfWhereTheContextLeavesIt() throws {
        var (session, _) = try Self.session("prompt-lookup:n=1,max=4", drafts: 1, context: [1, 2, 1, 3, 1])
        let step = session.step(1)
        let first = try #require(step?.first)
        #expect(first.tokens == [3, 1, 3, 1] && first.basePosition == 5 && first.generation == 0)
        // The coordinator accepts 2 instead: the draft starts again after it, as generation 1.
        var accepted = Accepted()
        (accepted.requestID, accepted.tokens, accepted.newPosition) = (1, [2], 6)
        #expect(session.follow(accepted) == nil)
        let next = session.step(1)
        let renewed = try #require(next?.first)
        #expect(renewed.tokens == [1, 2, 1, 2] && renewed.basePosition == 6 && renewed.generation == 1)
    }
}
