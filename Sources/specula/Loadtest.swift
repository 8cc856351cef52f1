import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaLoad
import SpeculaNet

/// `specula loadtest`: simulated clients against a running coordinator.
struct Loadtest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a running coordinator, or any OpenAI-compatible server, with simulated clients.",
        discussion: """
            --backend native (the default) speaks Specula's protocol to --coordinator; --backend openai \
            streams /v1/chat/completions (or --endpoint completions) from --url, so the same test drives \
            Specula's --http-port, llama-server, vLLM or any other OpenAI-compatible server (--api-key or \
            OPENAI_API_KEY; --model, else the first model the server lists). Speculative settings go out \
            as Specula's `speculative` extension only when given.

            Closed loop (--mode closed: --concurrency clients, each sending its next request when the \
            last one finished) or open loop (--mode constant|poisson|gamma at --rate requests/s; gamma \
            gaps with --burstiness < 1 bunch arrivals). Stops after --requests or --duration, whichever \
            comes first, then waits for the requests in flight (each bounded by --request-timeout): \
            every request sent is counted as ok or as an error by kind. --sweep runs one step per load \
            (concurrencies or rates).

            Per request it measures time to first token (send → first chunk with output), inter-token \
            latency (the gap between chunks with output, one sample per chunk as vLLM's benchmark_serving \
            counts it), time per output token ((end-to-end − TTFT) / (tokens − 1)) and end-to-end latency; \
            percentiles come from HDR histograms. Goodput counts requests meeting every --slo-* given. \
            Speculative metrics come from the coordinator's per-pass stats (native) or the usage's \
            speculative figures (Specula's HTTP API).

            Prints a live progress line and a table; with --out DIR also summary.json, requests.csv and \
            SVG plots (latency CDFs; throughput and p99 against load for a sweep).

            --against-no-draft runs every load twice, with drafts and with --no-draft, alternating, and \
            adds a table of ratios (output tokens/s, p99 time per output token); --out DIR then holds \
            each side's files under drafts/ and no-draft/, and comparison.json with both sides' plots.
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case closed, constant, poisson, gamma
    }

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case native, openai
    }

    @OptionGroup var logging: LoggingOptions
    @Option(help: "What the server speaks: native (Specula's protocol) or openai (any OpenAI-compatible HTTP API).")
    var backend: Backend = .native
    @Option(help: "Coordinator address, HOST:PORT (--backend native).") var coordinator: String = "127.0.0.1:7070"
    @OptionGroup var auth: AuthOptions
    @Option(help: "Server URL, http://HOST:PORT[/v1] (--backend openai).") var url: String = "http://127.0.0.1:8080"
    @Option(help: "Bearer key for the HTTP API (--backend openai; default: OPENAI_API_KEY).") var apiKey: String?
    @Option(help: "Endpoint: chat (/v1/chat/completions) or completions (/v1/completions).")
    var endpoint: OpenAIBackend.Endpoint = .chat
    @Option(help: "Model name to request (--backend openai; default: the first the server lists).") var model: String?
    @Option(help: "Arrivals: closed, constant, poisson or gamma.") var mode: Mode = .closed
    @Option(help: "Concurrent clients (closed loop).") var concurrency: Int = 8
    @Option(help: "Requests per second (open loop).") var rate: Double = 4
    @Option(help: "Gamma shape: < 1 burstier, > 1 smoother than Poisson (gamma mode).") var burstiness: Double = 1
    @Option(help: "Requests to send (per sweep step); default 100 unless --duration is given.") var requests: Int?
    @Option(help: "Requests per client (closed loop): each step sends this many times its concurrency.") var requestsPerClient: Int?
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
    @Flag(help: "Run each load with drafts and with --no-draft, alternating, and compare them.") var againstNoDraft = false
    @Option(help: "Seed of prompts, lengths, arrivals and sampling.") var seed: UInt64 = 1
    @Option(help: "Client connections shared by the simulated clients (--backend native; HTTP opens one per request in flight).")
    var connections: Int = 4
    @Option(help: "Seconds a request may take before it counts as a timeout.") var requestTimeout: Double = 300
    @Option(help: "SLO on time to first token, ms (goodput).") var sloTtftMs: Double?
    @Option(help: "SLO on time per output token, ms (goodput).") var sloTpotMs: Double?
    @Option(help: "SLO on end-to-end latency, ms (goodput).") var sloE2eMs: Double?
    @Option(help: "Directory for summary.json, requests.csv and SVG plots.") var out: String?
    @Flag(help: "Print the summary as JSON instead of the table.") var json = false
    @Flag(help: "No live progress line.") var quiet = false

    func validate() throws {
        _ = try HostPort(coordinator, flag: "--coordinator")
        do { _ = try OpenAIBackend.parse(url) } catch { throw ValidationError("--url: \(error)") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be ≥ 1.") }
        guard rate > 0, burstiness > 0 else { throw ValidationError("--rate and --burstiness must be > 0.") }
        guard requests.map({ $0 >= 1 }) ?? true, duration.map({ $0 > 0 }) ?? true else { throw ValidationError("--requests and --duration must be positive.") }
        guard connections >= 1, requestTimeout > 0, rampUp >= 0 else { throw ValidationError("--connections, --request-timeout must be positive, --ramp-up ≥ 0.") }
        guard requestsPerClient == nil || (mode == .closed && requests == nil && (requestsPerClient ?? 0) >= 1) else {
            throw ValidationError("--requests-per-client takes a positive number, in closed loop, instead of --requests.")
        }
        guard !(noDraft && againstNoDraft) else { throw ValidationError("--against-no-draft runs the --no-draft side itself.") }
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
        let source = try prompts.map { try PromptSource(jsonl: $0, outputTokens: try outputRange()) } ?? PromptSource(outputTokens: try outputRange())
        var configuration = LoadTestConfiguration(prompts: source)
        configuration.requests = requests ?? (duration == nil ? 100 : nil)
        configuration.durationSeconds = duration
        configuration.rampUpSeconds = rampUp
        configuration.seed = seed
        configuration.requestTimeoutSeconds = requestTimeout
        configuration.slo.ttftMilliseconds = sloTtftMs
        configuration.slo.tpotMilliseconds = sloTpotMs
        configuration.slo.endToEndMilliseconds = sloE2eMs
        var template = GenerateRequest()
        template.sampling = sampling.parameters.wire
        template.verifier = verifier?.rawValue ?? ""
        template.numDrafts = UInt32(drafts)
        template.blockLength = UInt32(block)
        template.noDraft = noDraft

        let loop = try EventLoop()
        defer { loop.shutdown() }
        let (server, served, target) = try await connect(template: template, loop: loop)
        var plainTemplate = template
        plainTemplate.noDraft = true
        let baseline = againstNoDraft ? try await connect(template: plainTemplate, loop: loop).2 : nil
        let loads = try loads()
        var steps: [LoadReport.Step] = [], plainSteps: [LoadReport.Step] = []
        for arrival in loads {
            configuration.arrival = arrival
            if let requestsPerClient, case .closed(let concurrency) = arrival { configuration.requests = requestsPerClient * concurrency }
            steps.append(await step(configuration, target: target, label: baseline == nil ? "" : " (drafts)"))
            if let baseline { plainSteps.append(await step(configuration, target: baseline, label: " (--no-draft)")) }
        }
        await target.close()
        await baseline?.close()
        func report(_ steps: [LoadReport.Step], noDraft: Bool) -> LoadReport {
            LoadReport(parameters: LoadParameters(backend: backend.rawValue, server: server, model: served, drafts: drafts, blockLength: block,
                                                  verifier: verifier?.rawValue ?? "", noDraft: noDraft, temperature: sampling.temperature,
                                                  loads: loads.map(\.description)),
                       steps: steps)
        }
        let drafted = report(steps, noDraft: noDraft)
        let comparison = baseline.map { _ in LoadComparison(drafts: drafted, plain: report(plainSteps, noDraft: true)) }
        if json {
            print(try comparison?.json ?? drafted.json)
        } else {
            if let comparison { print(comparison.drafts.table + "-- --no-draft\n" + comparison.plain.table, terminator: "") }
            print(comparison?.table ?? drafted.table, terminator: "")
        }
        if let out {
            try comparison?.write(to: out) ?? drafted.write(to: out)
            FileHandle.standardError.write(Data("wrote summary.json, requests.csv and plots to \(out)\n".utf8))
        }
    }

    /// One load step against `target`, with a live progress line unless --quiet.
    private func step(_ configuration: LoadTestConfiguration, target: any LoadBackend, label: String) async -> LoadReport.Step {
        let live = !quiet && isatty(STDERR_FILENO) != 0
        FileHandle.standardError.write(Data("load test: \(configuration.arrival.description)\(label)\n".utf8))
        let (records, seconds) = await LoadRunner.run(configuration, backend: target) { p in
            guard !quiet else { return }
            let line = String(format: "[%6.1f s] sent %d, ok %d, errors %d, in flight %d, %.1f req/s, %.0f tokens/s",
                              p.elapsedSeconds, p.sent, p.completed, p.failed, p.inFlight,
                              Double(p.completed) / max(p.elapsedSeconds, 1e-9), Double(p.outputTokens) / max(p.elapsedSeconds, 1e-9))
            FileHandle.standardError.write(Data((live ? "\r" + line : line + "\n").utf8))
        }
        if live { FileHandle.standardError.write(Data("\n".utf8)) }
        return .init(summary: LoadSummary(records: records, seconds: seconds, arrival: configuration.arrival, slo: configuration.slo), records: records)
    }

    /// The backend of `--backend`, connected: the server's address, the model it serves, and the backend.
    private func connect(template: GenerateRequest, loop: EventLoop) async throws -> (String, String, any LoadBackend) {
        switch backend {
        case .native:
            let address = try HostPort(coordinator, flag: "--coordinator")
            let native = try await NativeBackend(loop: loop, host: address.host, port: address.port, authSecret: try auth.secret(),
                                                 connections: connections, template: template)
            return (coordinator, native.model, native)
        case .openai:
            let key = apiKey ?? ProcessInfo.processInfo.environment["OPENAI_API_KEY"]
            let openai = try await OpenAIBackend(url: url, apiKey: key, endpoint: endpoint, model: model, template: template)
            return (url, openai.model, openai)
        }
    }
}

extension OpenAIBackend.Endpoint: ExpressibleByArgument {}
