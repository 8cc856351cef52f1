import ArgumentParser
import Foundation
import Logging
import SpeculaBench
import SpeculaNet

/// `specula bench net`: transport latency and throughput on loopback.
struct BenchNet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "Round-trip latency and message rate of realistic DraftBlocks over loopback.",
        discussion: """
            Starts a reflector server in a second process (or uses --connect), then measures \
            p50/p90/p99 round-trip time of one DraftToken (γ = 8 tokens, 64 sparse entries per \
            position) and of a round of K = 4 blocks, and the message rate with --window messages in \
            flight. --serve runs only the reflector: it prints `listening on HOST:PORT` and runs \
            until SIGINT or SIGTERM.
            """)

    @OptionGroup var logging: LoggingOptions
    @Flag(help: "Run the reflector server only.") var serve = false
    @Option(help: "Address to listen on (--serve).") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (--serve; 0 = any free port).") var port: Int = 0
    @Option(help: "Reflector to use, HOST:PORT (default: start one).") var connect: String?
    @Option(help: "Round trips measured for each latency figure.") var roundTrips: Int = 2000
    @Option(help: "Messages sent for the throughput figure.") var messages: Int = 50_000
    @Option(help: "Messages in flight for the throughput figure.") var window: Int = 256
    @Option(help: "Heartbeat interval of the reflector's connections, ms (0 = off).") var heartbeatMs: UInt64 = 1000
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port).") }
        guard roundTrips >= 1, messages >= 1, window >= 1 else { throw ValidationError("--round-trips, --messages and --window must be at least 1.") }
        if let connect { _ = try HostPort(connect, flag: "--connect") }
    }

    func run() async throws {
        let logger = logging.makeLogger("specula.bench.net")
        let loop = try EventLoop()
        defer { loop.shutdown() }
        if serve {
            var options = ConnectionOptions()
            options.heartbeat(every: heartbeatMs)
            try loop.onTerminationSignal { [loop] _ in loop.shutdown(wait: false) }
            let reflector = try NetReflector(loop: loop, host: host, port: port, options: options, logger: logger)
            print("listening on \(host):\(reflector.port)")
            fflush(nil)
            loop.waitUntilStopped()
            return
        }
        let server: ChildProcess?
        let target: HostPort
        if let connect {
            target = try HostPort(connect, flag: "--connect")
            server = nil
        } else {
            let child = try ChildProcess.startListening(arguments: ["bench", "net", "--serve", "--port", "0", "--log-level", "warning"])
            server = child
            target = child.address
        }
        defer { server?.terminate() }
        FileHandle.standardError.write(Data("… measuring against \(target.host):\(target.port)\n".utf8))
        let report = try await NetBenchmark.run(loop: loop, host: target.host, port: target.port, roundTrips: roundTrips, throughputMessages: messages, window: window)
        if json {
            try JSONOutput.print(report)
        } else {
            let m = report.messageRoundTripMicros, r = report.roundRoundTripMicros
            print("DraftToken: \(report.draftBlockBytes) bytes (γ=\(report.blockLength), \(report.support) entries per position)")
            print(String(format: "one block round trip: p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  (n=%d)", m.p50, m.p90, m.p99, m.n))
            print(String(format: "K=4 round trip:       p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  (n=%d)", r.p50, r.p90, r.p99, r.n))
            print(String(format: "throughput: %.0f messages/s, %.1f MB/s (window %d)", report.messagesPerSecond, report.megabytesPerSecond, report.window))
        }
    }
}
