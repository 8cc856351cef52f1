import Foundation

/// A client connection that keeps itself connected: it reconnects with `ReconnectBackoff` after a
/// failed attempt or a lost connection, until `stop()`.
///
/// Workers use it to reach the coordinator (design.md: "workers reconnect with exponential backoff
/// and jitter"). Handlers run on the loop thread.
package final class Connector: @unchecked Sendable {
    // @unchecked Sendable invariant: every `var` is touched on `loop`'s thread only.
    package let loop: EventLoop
    private let host: String
    private let port: Int
    private let options: ConnectionOptions
    private let backoff: ReconnectBackoff
    private let onConnect: (Connection) -> ConnectionHandlers
    private let onAttemptFailed: (UVError, _ retryInMs: Double) -> Void
    private var attempt = 0
    private var stopped = false
    private var current: Connection?
    private var retryTimer: UVTimer?
    private var random = SystemRandomNumberGenerator()

    /// `onConnect` runs for every established connection and returns its handlers; when that
    /// connection closes, the connector reconnects. `onAttemptFailed` reports failed attempts.
    package init(
        loop: EventLoop, host: String, port: Int, options: ConnectionOptions = ConnectionOptions(),
        backoff: ReconnectBackoff = ReconnectBackoff(),
        onAttemptFailed: @escaping (UVError, _ retryInMs: Double) -> Void = { _, _ in },
        onConnect: @escaping (Connection) -> ConnectionHandlers
    ) {
        self.loop = loop
        self.host = host
        self.port = port
        self.options = options
        self.backoff = backoff
        self.onConnect = onConnect
        self.onAttemptFailed = onAttemptFailed
    }

    /// Starts connecting. Thread-safe.
    package func start() {
        loop.execute { [self] in
            loop.addShutdownHook { [self] in stopOnLoop() }
            connect()
        }
    }

    /// Stops reconnecting and closes the current connection. Thread-safe.
    package func stop() {
        loop.execute { [self] in stopOnLoop() }
    }

    private func stopOnLoop() {
        stopped = true
        retryTimer?.close()
        retryTimer = nil
        current?.close(reason: "connector stopped")
    }

    private func connect() {
        guard !stopped else { return }
        let tcp: UVTCP
        do {
            tcp = try UVTCP(loop: loop.uv)
            try tcp.connect(host: host, port: port) { [self] error in
                if let error {
                    tcp.close()
                    retry(after: error)
                } else {
                    established(tcp)
                }
            }
        } catch {
            retry(after: error)
        }
    }

    private func established(_ tcp: UVTCP) {
        guard !stopped else {
            tcp.close()
            return
        }
        attempt = 0
        let connection = Connection(loop: loop, tcp: tcp, options: options)
        current = connection
        var handlers = onConnect(connection)
        let onClose = handlers.onClose
        handlers.onClose = { [self] connection, reason in
            onClose(connection, reason)
            current = nil
            scheduleReconnect()
        }
        connection.start(handlers)
    }

    private func retry(after error: UVError) {
        let delay = scheduleReconnect()
        onAttemptFailed(error, delay)
    }

    @discardableResult
    private func scheduleReconnect() -> Double {
        guard !stopped else { return 0 }
        let delay = backoff.delayMs(attempt: attempt, using: &random)
        attempt += 1
        if retryTimer == nil { retryTimer = try? loop.makeTimer() }
        retryTimer?.start(after: UInt64(delay)) { [self] in connect() }
        return delay
    }
}
