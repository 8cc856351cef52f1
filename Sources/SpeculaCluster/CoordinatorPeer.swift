import SpeculaNet

/// What the coordinator's shell needs of a peer: a network `Connection` or an `InProcessClient`
/// (the HTTP API's). The core knows neither; it knows peer ids.
protocol CoordinatorPeer: AnyObject, Sendable {
    var id: UInt64 { get }
    /// The peer is not keeping up: the scheduler leaves its requests out of passes for now.
    var isBackedUp: Bool { get }
    func send(_ message: Message)
    /// Sends the error, then closes.
    func fail(_ error: ErrorMessage, reason: CloseReason)
    func completeHandshake()
}

extension Connection: CoordinatorPeer {}
