/// A listening TCP socket that turns every accepted socket into a started `Connection`, up to
/// `maxConnections` open at once: a peer past it is told so (`unavailable`) and closed, so that a
/// flood of idle sockets cannot take the file descriptors that real peers need.
package final class Listener: @unchecked Sendable {
    // @unchecked Sendable invariant: `tcp` and `open` are only touched on `loop`'s thread; `port`
    // is immutable.
    package let loop: EventLoop
    /// The bound port (useful after binding port 0).
    package let port: Int
    private var tcp: UVTCP!
    private var open = 0

    /// Binds `host:port` and starts accepting. For each connection, `configure` runs on the loop
    /// thread and returns its handlers. Thread-safe (hops to the loop thread and waits).
    package init(
        loop: EventLoop, host: String, port: Int, options: ConnectionOptions = ConnectionOptions(), maxConnections: Int = .max,
        accept configure: @escaping (Connection) -> ConnectionHandlers
    ) throws(UVError) {
        self.loop = loop
        var accepted: (Connection) -> Void = { _ in }
        (tcp, self.port) = try loop.listen(host: host, port: port) { client in
            accepted(Connection(loop: loop, tcp: client, options: options))
        }
        accepted = { [weak self] connection in
            guard let self, open < maxConnections else {
                connection.start(ConnectionHandlers(onMessage: { _, _ in }))
                connection.fail(ErrorMessage(code: .unavailable, message: "too many connections (\(maxConnections)); try again later"),
                                reason: .local("over the connection limit"))
                return
            }
            open += 1
            var handlers = configure(connection)
            let onClose = handlers.onClose
            handlers.onClose = { [weak self] connection, reason in
                self?.open -= 1
                onClose(connection, reason)
            }
            connection.start(handlers)
        }
    }

    /// Stops accepting (existing connections stay open). Thread-safe.
    package func close() {
        loop.execute { [tcp] in tcp.close() }
    }
}

/// What a connection's owner wants to hear; all run on the loop thread.
package struct ConnectionHandlers {
    package var onMessage: (Connection, Message) -> Void
    package var onClose: (Connection, CloseReason) -> Void
    /// The connection is no longer backed up (`Connection.isBackedUp`).
    package var onDrained: ((Connection) -> Void)?

    package init(onMessage: @escaping (Connection, Message) -> Void, onClose: @escaping (Connection, CloseReason) -> Void = { _, _ in },
                 onDrained: ((Connection) -> Void)? = nil) {
        self.onMessage = onMessage
        self.onClose = onClose
        self.onDrained = onDrained
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
