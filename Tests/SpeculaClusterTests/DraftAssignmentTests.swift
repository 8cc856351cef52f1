import SpeculaCluster
import Testing

/// A round's drafts go to the worker that would finish them soonest, together.
struct DraftAssignmentTests {
    @Test func aRoundGoesWholeToOneWorker() {
        #expect(DraftAssignment.assign(drafts: 4, speeds: [50, 50]) == [0, 0, 0, 0])
        #expect(DraftAssignment.assign(drafts: 3, speeds: [0, 0, 0]) == [0, 0, 0])
    }

    @Test func theFastestWorkerGetsTheRound() {
        #expect(DraftAssignment.assign(drafts: 4, speeds: [10, 100]) == [1, 1, 1, 1])
        // Unknown speeds count as the slowest known.
        #expect(DraftAssignment.assign(drafts: 2, speeds: [0, 20]) == [0, 0])
        #expect(DraftAssignment.assign(drafts: 2, speeds: [0, 10, 40]) == [2, 2])
    }

    @Test func busyWorkersAreAvoided() {
        // The fast worker already has blocks queued from other requests: the round goes elsewhere.
        #expect(DraftAssignment.assign(drafts: 2, speeds: [50, 50, 50], queued: [4, 0, 0]) == [1, 1])
        #expect(DraftAssignment.assign(drafts: 2, speeds: [100, 50], queued: [2, 0]) == [1, 1])
        #expect(DraftAssignment.assign(drafts: 2, speeds: [100, 50], queued: [0, 0]) == [0, 0])
    }

    @Test func onATieThePreviousRoundsWorkerKeepsTheRequest() {
        #expect(DraftAssignment.assign(drafts: 2, speeds: [50, 50, 50], previous: 2) == [2, 2])
        #expect(DraftAssignment.assign(drafts: 2, speeds: [50, 50, 50], queued: [0, 0, 3], previous: 2) == [0, 0])
    }

    @Test func limitsSplitARoundAcrossWorkers() {
        #expect(DraftAssignment.assign(drafts: 5, speeds: [50, 50], limits: [2, 0]) == [0, 0, 1, 1, 1])
        #expect(DraftAssignment.assign(drafts: 5, speeds: [50, 50], limits: [2, 2]) == [0, 0, 1, 1])
    }

    @Test func batchingCostsLessThanSeparateDrafts() {
        #expect(DraftAssignment.batchCost(1) == 1)
        #expect(DraftAssignment.batchCost(4) < 2)
    }

    @Test func noWorkersNoAssignment() {
        #expect(DraftAssignment.assign(drafts: 3, speeds: []) == [])
    }
}
