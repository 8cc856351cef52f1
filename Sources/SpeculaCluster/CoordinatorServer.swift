package import Logging
package import SpeculaNet

/// A running coordinator: a listener on the event loop feeding `CoordinatorCore`'s event stream.
package final class CoordinatorServer: Sendable {
    package let listener: Listener
    private let runner: Task<Void, Never>

    package init(target: ClusterModel, loop: EventLoop, host: String, port: Int, options: CoordinatorOptions, logger: Logger) throws(UVError) {
        let (stream, continuation) = AsyncStream<CoordinatorEvent>.makeStream()
        let core = CoordinatorCore(target: target, options: options, logger: logger, events: continuation)
        runner = Task { await core.run(stream) }
        var connection = options.connection
        connection.handshakeTimeoutMs = options.handshakeTimeoutMs
        listener = try Listener(loop: loop, host: host, port: port, options: connection, maxConnections: options.maxConnections) { connection in
            continuation.yield(.opened(connection))
            return ConnectionHandlers(
                onMessage: { connection, message in continuation.yield(.message(connection, message)) },
                onClose: { connection, reason in continuation.yield(.closed(connection, reason)) },
                onDrained: { connection in continuation.yield(.drained(connection)) })
        }
    }

    package var port: Int { listener.port }
}
