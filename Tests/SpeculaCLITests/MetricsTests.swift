import Foundation
import Testing

/// The coordinator's Prometheus endpoint, scraped over real HTTP after real generations.
struct MetricsTests {
    /// GET through bash's /dev/tcp (a plain socket, no HTTP client dependency): status line and body.
    static func get(_ url: URL, path: String) throws -> (status: String, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "exec 3<>/dev/tcp/\(url.host!)/\(url.port!); printf 'GET \(path) HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; cat <&3"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let result = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = result.components(separatedBy: "\r\n\r\n")
        return (parts[0].components(separatedBy: "\r\n")[0], parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static func value(_ body: String, _ series: String) -> Double? {
        body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func theCoordinatorCountsRequestsRoundsAndWorkers() throws {
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: "synthetic:vocab=64,seed=4", extra: ["--metrics-port", "0"])
        try cluster.startWorker(spec: "synthetic:vocab=64,seed=4,agreement=0.9", extra: ["--count", "2"])
        Thread.sleep(forTimeInterval: 0.7)
        let url = try #require(cluster.metricsURL)
        _ = try CLI.run(["loadtest", "--coordinator", "127.0.0.1:\(cluster.port)", "--requests", "12", "--output-tokens", "5", "--quiet"])
        let (status, body) = try Self.get(url, path: "/metrics")
        #expect(status == "HTTP/1.1 200 OK")
        #expect(Self.value(body, "specula_requests_started_total") == 12)
        #expect(Self.value(body, #"specula_requests_finished_total{reason="length"}"#) == 12)
        #expect(Self.value(body, "specula_generated_tokens_total") == 60)
        #expect(Self.value(body, "specula_requests_in_flight") == 0)
        #expect((Self.value(body, "specula_passes_total") ?? 0) >= 1)
        #expect(body.contains(#"specula_workers{draft_model=""#) && body.contains("} 2\n"), "two workers in one pool")
        #expect(body.contains("# TYPE specula_target_pass_seconds histogram"))
        #expect(body.contains(#"specula_target_pass_seconds_bucket{le="+Inf"}"#))
        #expect(try Self.get(url, path: "/healthz").status == "HTTP/1.1 200 OK")
        #expect(try Self.get(url, path: "/other").status == "HTTP/1.1 404 Not Found")
    }
}
