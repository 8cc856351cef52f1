import SpeculaCore
import SpeculaNet

/// Everything the coordinator reacts to, delivered in order through one stream so the core sees
/// each connection's messages in the order they arrived.
enum CoordinatorEvent: Sendable {
    /// A peer connected (before any of its messages).
    case opened(Connection)
    /// An in-process client joined (trusted: no handshake).
    case attached(InProcessClient)
    case message(any CoordinatorPeer, Message)
    case closed(any CoordinatorPeer, CloseReason)
    /// A connection that was backed up (`Connection.isBackedUp`) can take messages again.
    case drained(Connection)
    /// A request's wait for draft tokens reached its deadline.
    case waitDeadline(request: UInt64, wait: UInt64)
    /// A target pass finished: its rows per step, and how long it took.
    case scored(TargetPass, rows: [[DenseDistribution]], duration: Duration)
}
