/// Why bytes from a peer could not be turned into a message. The connection that sent them is
/// closed with an `Error` message naming the reason; nothing else in the process is affected.
package enum FrameError: Error, Equatable, CustomStringConvertible {
    /// The length prefix announces more than the configured maximum (checked before allocating).
    case frameTooLarge(length: Int, limit: Int)
    /// The payload is not a valid `Envelope`.
    case malformed(String)

    package var description: String {
        switch self {
        case .frameTooLarge(let length, let limit): "frame of \(length) bytes exceeds the \(limit)-byte limit"
        case .malformed(let why): "malformed frame: \(why)"
        }
    }

    /// The wire error code that reports this to the peer.
    package var wireCode: WireErrorCode {
        switch self {
        case .frameTooLarge: .frameTooLarge
        case .malformed: .malformedFrame
        }
    }
}
