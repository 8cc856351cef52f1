package import Logging
package import SpeculaNet

/// A server that answers the handshake and heartbeats and echoes every other message back: the
/// far end of `specula bench net`, of the two-process transport test and of the Python interop test.
///
/// Protocol: the first message must be `Hello` with this build's protocol version (else `Error`
/// and close); it is answered with an accepted `HelloAck` that echoes the peer's fingerprints and
/// vocabulary size. Every later message is sent back unchanged.
package final class NetReflector: Sendable {
    package let listener: Listener

    package init(loop: EventLoop, host: String, port: Int, options: ConnectionOptions, logger: Logger) throws(UVError) {
        listener = try Listener(loop: loop, host: host, port: port, options: options) { connection in
            logger.debug("connection opened", metadata: ["connection.id": "\(connection.id)", "peer": "\(connection.peer)"])
            var greeted = false
            return ConnectionHandlers(
                onMessage: { connection, message in
                    switch message {
                    case .hello(let hello) where !greeted:
                        greeted = true
                        var ack = HelloAck()
                        ack.nodeID = "reflector"
                        ack.modelFingerprint = hello.modelFingerprint
                        ack.tokenizerFingerprint = hello.tokenizerFingerprint
                        ack.vocabSize = hello.vocabSize
                        ack.heartbeatIntervalMs = UInt32(options.heartbeatIntervalMs)
                        guard hello.protocolVersion == WireProtocol.version else {
                            ack.reason = "protocol version \(hello.protocolVersion) is not supported (this build speaks \(WireProtocol.version))"
                            connection.send(.helloAck(ack))
                            connection.fail(ErrorMessage(code: .incompatible, message: ack.reason), reason: .local(ack.reason))
                            return
                        }
                        ack.accepted = true
                        ack.reason = "welcome"
                        connection.send(.helloAck(ack))
                    case _ where !greeted:
                        let why = "the first message must be Hello, got \(message.kind)"
                        connection.fail(ErrorMessage(code: .protocolViolation, message: why), reason: .local(why))
                    default:
                        connection.send(message)
                    }
                },
                onClose: { connection, reason in
                    logger.debug("connection closed", metadata: ["connection.id": "\(connection.id)", "reason": "\(reason)"])
                })
        }
    }

    package var port: Int { listener.port }
}
