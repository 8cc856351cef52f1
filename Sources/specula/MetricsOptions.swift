import ArgumentParser
import Foundation
import SpeculaNet

/// `--metrics-port --metrics-host`: a Prometheus endpoint (`/metrics`, `/healthz`) for the
/// coordinator and workers.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics over HTTP on this port (GET /metrics; GET /healthz for probes). Off when not given.")
    var metricsPort: Int?
    @Option(help: "Address the metrics endpoint listens on.") var metricsHost: String = "127.0.0.1"

    func check() throws {
        if let port = metricsPort, !(0...65535).contains(port) { throw ValidationError("--metrics-port must be in 0...65535, got \(port).") }
    }

    /// Starts the endpoint when asked and prints `metrics on http://HOST:PORT/metrics`. With a
    /// secret on a non-loopback host, `/metrics` wants it as a bearer token.
    func serve(_ registry: MetricsRegistry, loop: EventLoop, secret: String?) throws {
        guard let port = metricsPort else { return }
        let token = AuthOptions.isLoopback(metricsHost) ? nil : secret
        let endpoint = try MetricsEndpoint(loop: loop, host: metricsHost, port: port, registry: registry, bearerToken: token)
        print("metrics on http://\(metricsHost):\(endpoint.port)/metrics")
        fflush(nil)
    }
}
