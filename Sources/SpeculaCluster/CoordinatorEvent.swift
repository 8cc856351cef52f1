import SpeculaCore
import SpeculaNet

/// Everything the coordinator reacts to, delivered in order through one stream so the state
/// machine sees each connection's messages in the order they arrived.
enum CoordinatorEvent: Sendable {
    case message(Connection, Message)
    case closed(Connection, CloseReason)
    case deadline(request: UInt64, round: UInt64)
    /// Score every round that is ready, in one target pass (continuous batching).
    case scoreReadyRounds
    /// A target pass finished.
    case scored(ScoredBatch)
}

/// The rows of one target pass, for the rounds it scored.
struct ScoredBatch: Sendable {
    let rounds: [CoordinatorCore.ClosedRound]
    let rows: [[DenseDistribution]]
    let micros: Double
}
