/// A minimal HTTP/1.1 server for Prometheus scrapes and probes: `GET /metrics` answers the
/// registry's text exposition, `GET /healthz` answers `ok`, anything else 404 (405 for other
/// methods). One request per connection, closed after the answer; a request head over 8 KiB or not
/// complete within 5 s closes the connection. With a bearer token (a non-loopback bind with the
/// cluster's secret), `/metrics` answers 401 to a request without `Authorization: Bearer TOKEN`;
/// `/healthz` tells nothing and stays open to probes. Runs on the event loop thread.
package final class MetricsEndpoint: @unchecked Sendable {
    // @unchecked Sendable invariant: `tcp` is only touched on `loop`'s thread; `port` is immutable.
    package let port: Int
    private let tcp: UVTCP

    static let maxHeadBytes = 8192
    static let headTimeoutMs: UInt64 = 5000

    /// Binds `host:port` (port 0: any) and serves `registry`.
    package init(loop: EventLoop, host: String, port: Int, registry: MetricsRegistry, bearerToken: String? = nil) throws(UVError) {
        (tcp, self.port) = try loop.listen(host: host, port: port) { client in
            Self.serve(client, loop: loop, registry: registry, bearerToken: bearerToken)
        }
    }

    private static func serve(_ client: UVTCP, loop: EventLoop, registry: MetricsRegistry, bearerToken: String?) {
        var head: [UInt8] = []
        var answered = false
        let timer = try? loop.makeTimer()
        func finish(_ response: [UInt8]?) {
            guard !answered else { return }
            answered = true
            timer?.close()
            guard let response else { return client.close() }
            client.write(response) { _ in client.close() }
        }
        timer?.start(after: headTimeoutMs) { finish(nil) }
        do {
            try client.startReading { result in
                guard case .success(let bytes) = result else { return finish(nil) }
                head += bytes
                if let end = Self.endOfHead(head) {
                    finish(Self.response(to: Array(head[..<end]), registry: registry, bearerToken: bearerToken))
                } else if head.count > maxHeadBytes {
                    finish(Self.message(431, "Request Header Fields Too Large", "request head over \(maxHeadBytes) bytes\n"))
                }
            }
        } catch {
            finish(nil)
        }
    }

    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
        return nil
    }

    static func response(to head: [UInt8], registry: MetricsRegistry, bearerToken: String? = nil) -> [UInt8] {
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else { return message(400, "Bad Request", "malformed request line\n") }
        guard requestLine[0] == "GET" || requestLine[0] == "HEAD" else { return message(405, "Method Not Allowed", "only GET\n") }
        let path = requestLine[1].split(separator: "?").first.map(String.init) ?? ""
        if path == "/metrics", let bearerToken {
            let authorization = lines.dropFirst().first { $0.lowercased().hasPrefix("authorization:") }
            let given = authorization.map { $0.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            guard constantTimeEquals(given, "Bearer " + bearerToken) else {
                return message(401, "Unauthorized", "send Authorization: Bearer with the cluster's shared secret\n")
            }
        }
        switch path {
        case "/metrics": return message(200, "OK", registry.render(), type: "text/plain; version=0.0.4; charset=utf-8", head: requestLine[0] == "HEAD")
        case "/healthz": return message(200, "OK", "ok\n", head: requestLine[0] == "HEAD")
        default: return message(404, "Not Found", "try /metrics or /healthz\n")
        }
    }

    private static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func message(_ status: Int, _ reason: String, _ body: String, type: String = "text/plain; charset=utf-8", head: Bool = false) -> [UInt8] {
        let bytes = Array(body.utf8)
        let text = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        return Array(text.utf8) + (head ? [] : bytes)
    }
}
