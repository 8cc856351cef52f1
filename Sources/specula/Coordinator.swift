import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaNet

/// `specula coordinator`: holds the target model, accepts workers and clients, runs rounds.
struct Coordinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the coordinator: the target model, the scheduler and the verifier.",
        discussion: """
            Listens for draft workers and clients (default 127.0.0.1:7070). For each request it asks \
            the workers for K drafts of γ tokens, verifies all of them in one target pass with a \
            lossless verifier, streams the accepted tokens to the client and broadcasts the accepted \
            prefix to the workers. Prints `listening on HOST:PORT` once ready; stops cleanly on \
            SIGINT or SIGTERM. Binding an address other than loopback (the main port or the metrics \
            port) needs a shared secret (--auth-secret-file or SPECULA_AUTH_SECRET) or --insecure.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Target model: a GGUF file, a name from `specula models list`, or a toy n-gram JSON file.")
    var model: String
    @Option(help: "Compute threads for the target.") var threads: Int = 2
    @OptionGroup var kernelOptions: KernelOptions
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "TCP port to listen on (0: any free port).") var port: Int = 7070
    @Option(help: ArgumentHelp("Milliseconds a request waits for its drafts' next tokens.",
        discussion: "Past it, passes go on without the drafts that have not delivered.")) var waitDeadlineMs: UInt64 = 1000
    /// The old spelling of --wait-deadline-ms, kept for one release.
    @Option(name: .customLong("round-deadline-ms"), help: .hidden) var roundDeadlineMs: UInt64?
    @Option(help: "Drafts per round when a request does not say (K).") var drafts: Int = 2
    @Option(help: "Block length when a request does not say (γ).") var block: Int = 4
    @Option(help: "Entries per shipped draft distribution (0: whole support).") var maxSupport: UInt32 = 64
    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "While a round's drafts are made from scratch, decode its first token with the target.",
        discussion: "The drafts that begin with that token then serve from their second token on (the output law is unchanged)."))
    var decodeWhileDrafting = true
    @Flag(help: .hidden) var misalignDraftRowsForTesting = false
    @Flag(help: .hidden) var poolDraftsAsOneLawForTesting = false
    @Flag(help: .hidden) var trustWorkersForTesting = false
    @Option(help: ArgumentHelp("Share of rounds whose first draft another worker of the pool also drafts, to compare rows.",
                               discussion: "A worker whose rows differ from two others' is disconnected and refused from then on."))
    var auditFraction = 0.05
    @OptionGroup var auth: AuthOptions
    @Flag(help: "Allow a non-loopback address without a shared secret.") var insecure = false
    @Option(help: "Heartbeat interval, ms; workers adopt it, and a peer silent for five of them is closed.")
    var heartbeatMs: UInt64 = 1000
    @Option(help: "Requests one client connection may have in flight (more are refused).") var maxRequestsPerClient = 256
    @Option(help: "Connections open at once (default: 1024, or fewer to fit the open-file limit).") var maxConnections: Int?
    @Option(help: "Milliseconds a new connection may take to send its Hello.") var handshakeTimeoutMs: UInt64 = 5000
    @Option(help: ArgumentHelp("Milliseconds a client or worker may leave its socket unread before it is disconnected.",
                               discussion: "Meanwhile the coordinator stops producing for it: a client's requests pause."))
    var stallTimeoutMs: UInt64 = 15_000
    @OptionGroup var admission: AdmissionOptions
    @OptionGroup var metricsOptions: MetricsOptions
    @OptionGroup var http: HTTPOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port).") }
        try metricsOptions.check()
        let secret = try auth.secret()
        try AuthOptions.checkListening(on: host, flag: "--host", secret: secret, insecure: insecure)
        if metricsOptions.metricsPort != nil {
            try AuthOptions.checkListening(on: metricsOptions.metricsHost, flag: "--metrics-host", secret: secret, insecure: insecure)
        }
        guard drafts >= 0, block >= 1 else { throw ValidationError("--drafts must be ≥ 0 and --block ≥ 1.") }
        guard (0...1).contains(auditFraction) else { throw ValidationError("--audit-fraction must be in 0...1.") }
        guard maxRequestsPerClient >= 1 else { throw ValidationError("--max-requests-per-client must be ≥ 1.") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be ≥ 1.") }
        try http.check(host: host, insecure: insecure)
    }

    func run() async throws {
        let logger = logging.makeLogger("specula.coordinator")
        // The HTTP API listens while the model loads: its /health says 503 until it is ready.
        let metrics = MetricsRegistry()
        let serving = try await http.start(host: host, metrics: metrics, logger: logging.makeLogger("specula.http"))
        var target = try ClusterModel.load(model, threads: threads)
        if let file = http.chatTemplateFile { target = try target.replacingChatTemplate(String(contentsOfFile: file, encoding: .utf8)) }
        var options = CoordinatorOptions()
        options.metrics = metrics
        options.waitDeadlineMs = roundDeadlineMs ?? waitDeadlineMs
        options.limits.defaultDrafts = drafts
        options.limits.defaultBlockLength = block
        options.maxSupport = maxSupport
        options.decodeWhileDrafting = decodeWhileDrafting
        options.misalignsDraftRows = misalignDraftRowsForTesting
        options.poolsDraftsAsOneLaw = poolDraftsAsOneLawForTesting
        options.trustsWorkers = trustWorkersForTesting
        options.auditFraction = auditFraction
        options.authSecret = try auth.secret()
        options.maxRequestsPerClient = maxRequestsPerClient
        options.admission = try admission.limits(for: target)
        options.promptCache = admission.promptCache
        options.maxConnections = maxConnections ?? Self.connectionsFittingTheOpenFileLimit()
        options.handshakeTimeoutMs = handshakeTimeoutMs
        options.connection.stallTimeoutMs = stallTimeoutMs
        options.connection.heartbeat(every: heartbeatMs)
        options.connection.metrics = options.metrics
        let loop = try EventLoop()
        try metricsOptions.serve(options.metrics, loop: loop, secret: options.authSecret)
        try loop.onTerminationSignal { [loop] _ in loop.shutdown(wait: false) }
        let server = try CoordinatorServer(target: target, loop: loop, host: host, port: port, options: options, logger: logger)
        serving?.state.becomeReady(.init(model: .init(target: target, id: HTTPOptions.modelID(model, target: target), limits: options.limits),
                                         coordinator: server))
        logger.info("coordinator ready", metadata: ["model": "\(model)", "fingerprint": "\(target.fingerprint)"])
        print("listening on \(host):\(server.port)")
        if let serving { print("http on http://\(host):\(serving.port)") }
        fflush(nil)
        // The libuv loop runs on its own thread; wait for it off the cooperative pool.
        await withCheckedContinuation { done in DispatchQueue.global().async { loop.waitUntilStopped(); done.resume() } }
    }

    /// 1024, or what the open-file limit leaves after the descriptors the process needs itself
    /// (model files, the metrics port, the loop's own).
    static func connectionsFittingTheOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return max(1, min(1024, Int(clamping: limit.rlim_cur) - 32))
    }
}
