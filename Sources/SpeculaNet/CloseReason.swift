/// Why a connection ended.
package enum CloseReason: Sendable, CustomStringConvertible {
    /// This side closed it (shutdown, refusal, …).
    case local(String)
    /// The peer closed its end.
    case peerClosed
    /// Nothing was heard from the peer for longer than the dead-peer timeout.
    case deadPeer(silentMs: UInt64)
    /// Reading or writing failed.
    case ioError(UVError)
    /// The peer sent a frame that could not be decoded; it was told so with an `Error` message.
    case protocolError(FrameError)
    /// The peer did not read: its unsent messages passed the hard limit, or stayed over the
    /// soft limit for longer than the stall timeout.
    case notReading(queuedBytes: Int)
    /// The peer did not finish its handshake in time.
    case handshakeTimeout(ms: UInt64)

    package var description: String {
        switch self {
        case .local(let why): "closed locally: \(why)"
        case .peerClosed: "peer closed the connection"
        case .deadPeer(let ms): "peer silent for \(ms) ms"
        case .ioError(let error): "I/O error: \(error)"
        case .protocolError(let error): "protocol error: \(error)"
        case .notReading(let bytes): "peer not reading (\(bytes) bytes unsent)"
        case .handshakeTimeout(let ms): "no handshake within \(ms) ms"
        }
    }
}
