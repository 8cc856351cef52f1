import SpeculaCore
import SpeculaNet

/// Everything the coordinator reacts to, delivered in order through one stream so the state
/// machine sees each connection's messages in the order they arrived.
enum CoordinatorEvent: Sendable {
    /// A peer connected (before any of its messages).
    case opened(Connection)
    case message(Connection, Message)
    case closed(Connection, CloseReason)
    /// A connection that was backed up (`Connection.isBackedUp`) can take messages again.
    case drained(Connection)
    /// A request's wait for draft tokens (`GenerationRequest.waits`) reached the round deadline.
    case waitDeadline(request: UInt64, wait: UInt64)
    /// A target pass finished.
    case scored(ScoredBatch)
}

/// The rows of one target pass, for the requests it scored.
struct ScoredBatch: Sendable {
    let steps: [CoordinatorCore.PassStep]
    let rows: [[DenseDistribution]]
    let micros: Double
}
