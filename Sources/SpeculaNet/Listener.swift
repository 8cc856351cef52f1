/// A listening TCP socket that turns every accepted socket into a started `Connection`.
package final class Listener: @unchecked Sendable {
    // @unchecked Sendable invariant: `tcp` is only touched on `loop`'s thread; `port` is immutable.
    package let loop: EventLoop
    /// The bound port (useful after binding port 0).
    package let port: Int
    private let tcp: UVTCP

    /// Binds `host:port` and starts accepting. For each connection, `configure` runs on the loop
    /// thread and returns its handlers. Thread-safe (hops to the loop thread and waits).
    package init(
        loop: EventLoop, host: String, port: Int, options: ConnectionOptions = ConnectionOptions(),
        accept configure: @escaping (Connection) -> ConnectionHandlers
    ) throws(UVError) {
        self.loop = loop
        (tcp, self.port) = try loop.listen(host: host, port: port) { client in
            let connection = Connection(loop: loop, tcp: client, options: options)
            let handlers = configure(connection)
            connection.start(onMessage: handlers.onMessage, onClose: handlers.onClose)
        }
    }

    /// Stops accepting (existing connections stay open). Thread-safe.
    package func close() {
        loop.execute { [tcp] in tcp.close() }
    }
}

/// What a connection's owner wants to hear; both run on the loop thread.
package struct ConnectionHandlers {
    package var onMessage: (Connection, Message) -> Void
    package var onClose: (Connection, CloseReason) -> Void

    package init(onMessage: @escaping (Connection, Message) -> Void, onClose: @escaping (Connection, CloseReason) -> Void = { _, _ in }) {
        self.onMessage = onMessage
        self.onClose = onClose
    }
}

extension EventLoop {
    /// Binds `host:port`, listens, and hands every accepted socket to `accept` on the loop
    /// thread; the socket closes at shutdown. Returns it with its bound port. Thread-safe.
    func listen(host: String, port: Int, accept: @escaping (UVTCP) -> Void) throws(UVError) -> (UVTCP, Int) {
        try submitAndWait { () throws(UVError) -> (UVTCP, Int) in
            let tcp = try UVTCP(loop: self.uv)
            do throws(UVError) {
                try tcp.bind(host: host, port: port)
                try tcp.listen { error in
                    guard error == nil, let client = try? tcp.accept() else { return }
                    accept(client)
                }
            } catch {
                tcp.close()
                throw error
            }
            self.addShutdownHook { tcp.close() }
            return (tcp, tcp.localPort)
        }
    }
}
