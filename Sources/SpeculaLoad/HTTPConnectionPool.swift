import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HTTP/1.1 connections to one server, kept alive between requests as a load tester needs them:
/// a request takes an idle connection or opens one (so N requests in flight hold N connections,
/// as N real clients would), and a connection goes back to the pool when its response ended and
/// the server keeps it open. A reader that stops reading a response early closes its
/// connection, which tells the server the client left. Plain HTTP only.
final class HTTPConnectionPool: Sendable {
    /// A response as it arrives: its head, then its body in pieces.
    enum ResponsePart: Sendable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
    }

    /// One request and where its response goes.
    private struct Exchange: Sendable {
        var request: HTTPRequestHead
        var body: ByteBuffer
        var response: AsyncThrowingStream<ResponsePart, any Error>.Continuation
    }

    /// One connection: a task serving the exchanges fed to it, one at a time.
    private final class PooledConnection: Sendable {
        let exchanges: AsyncStream<Exchange>.Continuation
        init(exchanges: AsyncStream<Exchange>.Continuation) { self.exchanges = exchanges }
    }

    private struct State {
        var idle: [PooledConnection] = []
        var closed = false
    }

    private let host: String
    private let port: Int
    private let state = Mutex(State())

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Sends `request` with `body` and streams its response; the stream ends after the body.
    func send(_ request: HTTPRequestHead, body: ByteBuffer) -> AsyncThrowingStream<ResponsePart, any Error> {
        let (stream, response) = AsyncThrowingStream.makeStream(of: ResponsePart.self)
        let exchange = Exchange(request: request, body: body, response: response)
        let (idle, closed) = state.withLock { ($0.idle.popLast(), $0.closed) }
        if closed {
            response.finish(throwing: LoadBackendError.connectionLost("the load test is over"))
        } else if let idle {
            idle.exchanges.yield(exchange)
        } else {
            open(first: exchange)
        }
        return stream
    }

    /// Sends `request` and collects the whole response.
    func fetch(_ request: HTTPRequestHead, body: ByteBuffer = ByteBuffer()) async throws -> (HTTPResponseHead, ByteBuffer) {
        var head: HTTPResponseHead?
        var collected = ByteBuffer()
        for try await part in send(request, body: body) {
            switch part {
            case .head(let h): head = h
            case .body(var bytes): collected.writeBuffer(&bytes)
            }
        }
        guard let head else { throw LoadBackendError.connectionLost("no response from \(host):\(port)") }
        return (head, collected)
    }

    /// Closes idle connections now and busy ones when their response ends.
    func close() {
        let idle = state.withLock { s in
            s.closed = true
            defer { s.idle.removeAll() }
            return s.idle
        }
        idle.forEach { $0.exchanges.finish() }
    }

    private func open(first: Exchange) {
        let (exchanges, continuation) = AsyncStream.makeStream(of: Exchange.self)
        let connection = PooledConnection(exchanges: continuation)
        continuation.yield(first)
        Task { await serve(connection, first: first, exchanges: exchanges) }
    }

    /// Puts a connection whose response ended back among the idle ones, unless the pool closed.
    private func release(_ connection: PooledConnection) -> Bool {
        state.withLock { s in
            guard !s.closed else { return false }
            s.idle.append(connection)
            return true
        }
    }

    private func serve(_ connection: PooledConnection, first: Exchange, exchanges: AsyncStream<Exchange>) async {
        var current: Exchange? = first
        // A kept-alive connection the server closed while idle fails its next request before any
        // answer: that request is sent again on a new connection.
        var reused = false, answered = false
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                for await exchange in exchanges {
                    (current, answered) = (exchange, false)
                    try await outbound.write(contentsOf: [.head(exchange.request), .body(.byteBuffer(exchange.body)), .end(nil)])
                    var keepAlive = false
                    reading: while true {
                        guard let part = try await parts.next() else { throw LoadBackendError.connectionLost("the server closed the connection") }
                        answered = true
                        let delivered: AsyncThrowingStream<ResponsePart, any Error>.Continuation.YieldResult
                        switch part {
                        case .head(let head):
                            keepAlive = head.isKeepAlive
                            delivered = exchange.response.yield(.head(head))
                        case .body(let bytes):
                            delivered = exchange.response.yield(.body(bytes))
                        case .end:
                            break reading
                        }
                        if case .terminated = delivered {
                            current = nil
                            return
                        }
                    }
                    exchange.response.finish()
                    (current, reused) = (nil, true)
                    guard keepAlive, release(connection) else { return }
                }
            }
        } catch {
            if let exchange = current {
                if reused && !answered {
                    open(first: exchange)
                } else {
                    exchange.response.finish(throwing: LoadBackendError.connectionLost("\(host):\(port): \(error)"))
                }
            }
        }
        state.withLock { $0.idle.removeAll { $0 === connection } }
        connection.exchanges.finish()
    }
}
