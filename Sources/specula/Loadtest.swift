import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaLoad
import SpeculaNet

/// `specula loadtest`: simulated clients against a running coordinator.
struct Loadtest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a running coordinator with simulated clients.",
        discussion: """
            Closed loop (--mode closed: --concurrency clients, each sending its next request when the \
            last one finished) or open loop (--mode constant|poisson|gamma at --rate requests/s; gamma \
            gaps with --burstiness < 1 bunch arrivals). Stops after --requests or --duration, whichever \
            comes first, then waits for the requests in flight (each bounded by --request-timeout): \
            every request sent is counted as ok or as an error by kind. --sweep runs one step per load \
            (concurrencies or rates).

            Per request it measures time to first token (send → first token), inter-token latency (each \
            chunk's gap spread over its tokens), time per output token ((end-to-end − TTFT) / (tokens − \
            1)) and end-to-end latency; percentiles come from HDR histograms. Goodput counts requests \
            meeting every --slo-* given. Speculative metrics come from the coordinator's per-round stats.

            Prints a live progress line and a table; with --out DIR also summary.json, requests.csv and \
            SVG plots (latency CDFs; throughput and p99 against load for a sweep).
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case closed, constant, poisson, gamma
    }

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"
    @OptionGroup var auth: AuthOptions
    @Option(help: "Arrivals: closed, constant, poisson or gamma.") var mode: Mode = .closed
    @Option(help: "Concurrent clients (closed loop).") var concurrency: Int = 8
    @Option(help: "Requests per second (open loop).") var rate: Double = 4
    @Option(help: "Gamma shape: < 1 burstier, > 1 smoother than Poisson (gamma mode).") var burstiness: Double = 1
    @Option(help: "Requests to send (per sweep step); default 100 unless --duration is given.") var requests: Int?
    @Option(help: "Seconds to keep sending (per sweep step).") var duration: Double?
    @Option(help: "Seconds over which clients start (closed) or the rate rises (open).") var rampUp: Double = 0
    @Option(help: "Loads to sweep, comma-separated: concurrencies (closed) or rates (open).") var sweep: String?
    @Option(help: "A JSONL file of {\"prompt\": …, \"max_tokens\": N} lines (default: built-in code and prose).") var prompts: String?
    @Option(help: "Output tokens per request: N, or A-B drawn uniformly.") var outputTokens: String = "64"
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Verifier (default: the coordinator's choice).") var verifier: VerifierKind?
    @Option(help: "Drafts per round K (0: the coordinator chooses).") var drafts: Int = 0
    @Option(help: "Block length γ (0: the coordinator chooses).") var block: Int = 0
    @Flag(help: "Plain target decoding, no drafts (a baseline).") var noDraft = false
    @Option(help: "Seed of prompts, lengths, arrivals and sampling.") var seed: UInt64 = 1
    @Option(help: "Client connections shared by the simulated clients.") var connections: Int = 4
    @Option(help: "Seconds a request may take before it counts as a timeout.") var requestTimeout: Double = 300
    @Option(help: "SLO on time to first token, ms (goodput).") var sloTtftMs: Double?
    @Option(help: "SLO on time per output token, ms (goodput).") var sloTpotMs: Double?
    @Option(help: "SLO on end-to-end latency, ms (goodput).") var sloE2eMs: Double?
    @Option(help: "Directory for summary.json, requests.csv and SVG plots.") var out: String?
    @Flag(help: "Print the summary as JSON instead of the table.") var json = false
    @Flag(help: "No live progress line.") var quiet = false

    func validate() throws {
        _ = try HostPort(coordinator, flag: "--coordinator")
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be ≥ 1.") }
        guard rate > 0, burstiness > 0 else { throw ValidationError("--rate and --burstiness must be > 0.") }
        guard requests.map({ $0 >= 1 }) ?? true, duration.map({ $0 > 0 }) ?? true else { throw ValidationError("--requests and --duration must be positive.") }
        guard connections >= 1, requestTimeout > 0, rampUp >= 0 else { throw ValidationError("--connections, --request-timeout must be positive, --ramp-up ≥ 0.") }
        _ = try outputRange()
        _ = try loads()
    }

    func outputRange() throws -> ClosedRange<Int> {
        let parts = outputTokens.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 1, let n = parts[0], n >= 1 { return n...n }
        if parts.count == 2, let a = parts[0], let b = parts[1], a >= 1, b >= a { return a...b }
        throw ValidationError("--output-tokens takes N or A-B with 1 ≤ A ≤ B, got '\(outputTokens)'.")
    }

    func loads() throws -> [ArrivalProcess] {
        let base: ArrivalProcess = switch mode {
        case .closed: .closed(concurrency: concurrency)
        case .constant: .constant(rate: rate)
        case .poisson: .poisson(rate: rate)
        case .gamma: .gamma(rate: rate, burstiness: burstiness)
        }
        guard let sweep else { return [base] }
        let values = sweep.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { throw ValidationError("--sweep takes positive numbers, comma-separated.") }
        return values.map { base.at(load: $0!) }
    }

    func run() async throws {
        _ = logging.makeLogger("specula.loadtest")
        let address = try HostPort(coordinator, flag: "--coordinator")
        let source = try prompts.map { try PromptSource(jsonl: $0, outputTokens: try outputRange()) } ?? PromptSource(outputTokens: try outputRange())
        var configuration = LoadTestConfiguration(prompts: source)
        configuration.host = address.host
        configuration.port = address.port
        configuration.authSecret = try auth.secret()
        configuration.requests = requests ?? (duration == nil ? 100 : nil)
        configuration.durationSeconds = duration
        configuration.rampUpSeconds = rampUp
        configuration.seed = seed
        configuration.connections = connections
        configuration.requestTimeoutSeconds = requestTimeout
        configuration.slo.ttftMilliseconds = sloTtftMs
        configuration.slo.tpotMilliseconds = sloTpotMs
        configuration.slo.endToEndMilliseconds = sloE2eMs
        configuration.template.sampling = sampling.parameters.wire
        configuration.template.verifier = verifier?.rawValue ?? ""
        configuration.template.numDrafts = UInt32(drafts)
        configuration.template.blockLength = UInt32(block)
        configuration.template.noDraft = noDraft

        let loop = try EventLoop()
        defer { loop.shutdown() }
        let live = !quiet && isatty(STDERR_FILENO) != 0
        var steps: [LoadReport.Step] = []
        for arrival in try loads() {
            configuration.arrival = arrival
            FileHandle.standardError.write(Data("load test: \(arrival.description)\n".utf8))
            let (records, seconds) = try await LoadRunner.run(configuration, loop: loop) { p in
                guard !quiet else { return }
                let line = String(format: "[%6.1f s] sent %d, ok %d, errors %d, in flight %d, %.1f req/s, %.0f tokens/s",
                                  p.elapsedSeconds, p.sent, p.completed, p.failed, p.inFlight,
                                  Double(p.completed) / max(p.elapsedSeconds, 1e-9), Double(p.outputTokens) / max(p.elapsedSeconds, 1e-9))
                FileHandle.standardError.write(Data((live ? "\r" + line : line + "\n").utf8))
            }
            if live { FileHandle.standardError.write(Data("\n".utf8)) }
            steps.append(.init(summary: LoadSummary(records: records, seconds: seconds, arrival: arrival, slo: configuration.slo), records: records))
        }
        let report = LoadReport(steps: steps)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(["steps": steps.map(\.summary)]), as: UTF8.self))
        } else {
            print(report.table, terminator: "")
        }
        if let out {
            try report.write(to: out)
            FileHandle.standardError.write(Data("wrote summary.json, requests.csv and plots to \(out)\n".utf8))
        }
    }
}
