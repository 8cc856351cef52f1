import Synchronization
package import SpeculaNet

/// A client of the coordinator inside its own process — one per HTTP request — that speaks the
/// native protocol's messages without a socket: `Generate` and `Cancel` in, `Tokens`, `Done` and
/// `Error` out. Closing it cancels its generations, as a dropped TCP client's are.
///
/// It is trusted (the HTTP server authenticated the caller), so it skips the Hello handshake.
package final class InProcessClient: CoordinatorPeer {
    package let id: UInt64
    /// What the coordinator sent this client, in order; finishes when the client is closed.
    package let messages: AsyncStream<Message>
    private let inbox: AsyncStream<Message>.Continuation
    private let events: AsyncStream<CoordinatorEvent>.Continuation
    private let closed = Atomic(false)

    /// In-process peer ids sit above every connection id.
    private static let nextID = Atomic<UInt64>(1 << 62)

    init(events: AsyncStream<CoordinatorEvent>.Continuation) {
        id = Self.nextID.add(1, ordering: .relaxed).newValue
        (messages, inbox) = AsyncStream<Message>.makeStream()
        self.events = events
        events.yield(.attached(self))
    }

    /// Sends `message` (a `Generate` or a `Cancel`) to the coordinator.
    package func submit(_ message: Message) {
        guard !closed.load(ordering: .relaxed) else { return }
        events.yield(.message(self, message))
    }

    /// Leaves the coordinator: its generations still running are cancelled.
    package func close() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        inbox.finish()
        events.yield(.closed(self, .local("in-process client closed")))
    }

    deinit { close() }

    // MARK: CoordinatorPeer (called by the coordinator's runtime)

    var isBackedUp: Bool { false }

    func send(_ message: Message) { inbox.yield(message) }

    func fail(_ error: ErrorMessage, reason: CloseReason) {
        inbox.yield(.error(error))
        close()
    }

    func completeHandshake() {}
}
