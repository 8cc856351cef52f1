import SpeculaCluster
import Testing

/// Drafts are split among workers by measured speed.
struct DraftAssignmentTests {
    @Test func equalSpeedsSplitEvenly() {
        #expect(DraftAssignment.assign(drafts: 4, speeds: [50, 50]) == [0, 1, 0, 1])
        #expect(DraftAssignment.assign(drafts: 3, speeds: [0, 0, 0]) == [0, 1, 2])
    }

    @Test func aFasterWorkerGetsMoreDrafts() {
        let assignment = DraftAssignment.assign(drafts: 4, speeds: [100, 10])
        #expect(assignment.filter { $0 == 0 }.count == 4, "\(assignment)")
        let mixed = DraftAssignment.assign(drafts: 6, speeds: [30, 10])
        #expect(mixed.filter { $0 == 0 }.count == 4 || mixed.filter { $0 == 0 }.count == 5, "\(mixed)")
    }

    @Test func unknownSpeedsCountAsTheSlowestKnown() {
        #expect(DraftAssignment.assign(drafts: 2, speeds: [0, 20]) == [0, 1])
        let a = DraftAssignment.assign(drafts: 6, speeds: [0, 10, 40])
        #expect(a.filter { $0 == 2 }.count == 4 && a.filter { $0 == 0 }.count == 1, "\(a)")
    }

    @Test func busyWorkersGetFewerDrafts() {
        // The fast worker already has 4 blocks queued from other requests: new drafts go elsewhere
        // until the queues even out.
        #expect(DraftAssignment.assign(drafts: 2, speeds: [50, 50, 50], queued: [4, 0, 0]) == [1, 2])
        let many = DraftAssignment.assign(drafts: 8, speeds: [50, 50], queued: [6, 0])
        #expect(many.filter { $0 == 1 }.count == 7, "\(many)")
    }

    @Test func noWorkersNoAssignment() {
        #expect(DraftAssignment.assign(drafts: 3, speeds: []) == [])
    }
}
