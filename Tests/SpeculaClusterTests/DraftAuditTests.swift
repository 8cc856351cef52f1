import SpeculaCluster
import SpeculaNet
import Testing

/// The audit's bookkeeping: rows compared position by position, a dispute reported once, and the
/// tiebreaker's row deciding who is outvoted.
struct DraftAuditTests {
    let honest = WireSparseDistribution(tokenIDs: [1, 2], probabilities: [0.75, 0.25])
    let steered = WireSparseDistribution(tokenIDs: [2, 1], probabilities: [0.75, 0.25])

    func audit() -> DraftAudit { DraftAudit(draft: 0, base: 10, lookahead: 4, worker: 1, auditor: 2) }

    @Test func equalRowsAgreeWhateverTheOrderOfArrival() {
        var audit = audit()
        #expect(audit.record(2, from: 10, tokens: [1, 1], rows: [honest, honest]) == .pending)
        #expect(audit.record(1, from: 10, tokens: [1], rows: [honest]) == .agreeing)
        #expect(audit.record(1, from: 11, tokens: [1], rows: [honest]) == .agreeing)
    }

    @Test func aDifferentRowIsDisputedOnceThenTheTiebreakerDecides() {
        for (third, outvoted) in [(honest, UInt64(2)), (steered, UInt64(1))] {
            var audit = audit()
            #expect(audit.record(1, from: 10, tokens: [1], rows: [honest]) == .pending)
            #expect(audit.record(2, from: 10, tokens: [1], rows: [steered]) == .disputed)
            #expect(audit.record(2, from: 11, tokens: [1], rows: [steered]) == .pending)
            audit.addTiebreaker(3)
            #expect(audit.record(3, from: 10, tokens: [1], rows: [third]) == .outvoted(outvoted))
        }
    }

    @Test func aTiebreakerThatAgreesWithNeitherIsInconclusive() {
        var audit = audit()
        _ = audit.record(1, from: 10, tokens: [1], rows: [honest])
        _ = audit.record(2, from: 10, tokens: [2], rows: [steered])
        audit.addTiebreaker(3)
        #expect(audit.record(3, from: 10, tokens: [3], rows: [WireSparseDistribution(tokenIDs: [3], probabilities: [1])]) == .inconclusive)
    }

    @Test func tokensPastTheLookaheadAreNotKept() {
        var audit = audit()
        #expect(audit.record(1, from: 14, tokens: [1], rows: [honest]) == .pending)
        #expect(audit.record(2, from: 14, tokens: [2], rows: [steered]) == .pending)  // position 14 = base + lookahead
    }
}
