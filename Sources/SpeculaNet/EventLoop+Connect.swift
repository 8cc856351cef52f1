extension EventLoop {
    /// Connects once to `host:port` and starts the connection with the handlers `configure`
    /// returns (set before any byte is read). Throws the connect error. Thread-safe, async.
    package func connect(
        host: String, port: Int, options: ConnectionOptions = ConnectionOptions(),
        configure: @escaping @Sendable (Connection) -> ConnectionHandlers
    ) async throws -> Connection {
        try await withCheckedThrowingContinuation { continuation in
            let submitted = execute { [self] in
                do {
                    let tcp = try UVTCP(loop: uv)
                    try tcp.connect(host: host, port: port) { [self] error in
                        if let error {
                            tcp.close()
                            continuation.resume(throwing: error)
                            return
                        }
                        let connection = Connection(loop: self, tcp: tcp, options: options)
                        let handlers = configure(connection)
                        connection.start(handlers)
                        continuation.resume(returning: connection)
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            if !submitted { continuation.resume(throwing: UVError(function: "connect(\(host):\(port))", code: -125 /* ECANCELED */)) }
        }
    }
}
