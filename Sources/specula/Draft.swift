import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaModel
import SpeculaNet

/// `specula draft`: a draft worker.
struct Draft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a draft worker: a small model that proposes token blocks to a coordinator.",
        discussion: """
            Connects to a coordinator (reconnecting with exponential backoff and jitter), serves \
            many requests at once, samples every draft from exactly the sparse distribution it \
            ships, and follows Accepted to stay in step. Exits with an error if the coordinator \
            refuses it (e.g. a different tokenizer); stops cleanly on SIGINT or SIGTERM.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: ArgumentHelp(
        "Draft model: a GGUF file, a name from `specula models list`, a toy n-gram JSON file, or a model-free drafter.",
        discussion: "Model-free drafters need no weights and no tokenizer (they work on token ids): " + ModelFreeDrafter.help))
    var model: String
    @Option(help: "Compute threads for the draft model.") var threads: Int = 1
    @OptionGroup var kernelOptions: KernelOptions
    @Option(help: ArgumentHelp("The draft's output head (GGUF models; default: candidates).", discussion: OutputHead.help)) var outputHead: OutputHead?
    @Option(help: ArgumentHelp("The draft's layer weights (GGUF models; default: q4_0).", discussion: LayerWeights.help)) var weights: LayerWeights?
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"
    @Option(help: "Name of this worker in the coordinator's logs (NAME-i with --count).") var name: String = "worker"
    @Option(help: "Workers in this process, each its own connection and drafting queue (load tests: many simulated workers in few processes).")
    var count: Int = 1
    @OptionGroup var auth: AuthOptions
    @Flag(help: "Allow a non-loopback --metrics-host without a shared secret.") var insecure = false
    @OptionGroup var metricsOptions: MetricsOptions
    @Flag(help: .hidden) var shipWrongDistribution = false
    @Option(help: .hidden) var steerDraftsForTesting: Int?

    func validate() throws {
        _ = try HostPort(coordinator, flag: "--coordinator")
        guard count >= 1 else { throw ValidationError("--count must be ≥ 1.") }
        try metricsOptions.check()
        if metricsOptions.metricsPort != nil {
            try AuthOptions.checkListening(on: metricsOptions.metricsHost, flag: "--metrics-host", secret: try auth.secret(), insecure: insecure)
        }
    }

    func run() async throws {
        let logger = logging.makeLogger("specula.draft")
        let drafter = try ModelFreeDrafter.parse(model).map(Drafter.init(modelFree:))
            ?? Drafter(model: try ClusterModel.loadDraft(model, threads: threads, outputHead: outputHead, layerWeights: weights))
        let address = try HostPort(coordinator, flag: "--coordinator")
        let loop = try EventLoop()
        let refusal = RefusalFlag()
        try loop.onTerminationSignal { [loop] _ in loop.shutdown(wait: false) }
        let metrics = MetricsRegistry()
        let secret = try auth.secret()
        try metricsOptions.serve(metrics, loop: loop, secret: secret)
        let workers = try (0..<count).map { i in
            var options = DraftWorker.Options()
            options.metrics = metrics
            options.nodeID = count == 1 ? name : "\(name)-\(i)"
            options.authSecret = secret
            options.lie = shipWrongDistribution ? .wrongRow : steerDraftsForTesting.map { .steered(toward: $0) }
            // A suffix drafter learns on its own: each worker of the process gets its own.
            let own = i == 0 ? drafter : try ModelFreeDrafter.parse(model).map(Drafter.init(modelFree:)) ?? drafter
            return DraftWorker(drafter: own, loop: loop, host: address.host, port: address.port, options: options, logger: logger) { [loop] reason in
                refusal.set(reason)
                loop.shutdown(wait: false)
            }
        }
        workers.forEach { $0.start() }
        withExtendedLifetime(workers) { loop.waitUntilStopped() }
        if let reason = refusal.reason {
            throw Refused(reason: reason)
        }
    }
}

/// Remembers why a coordinator refused the worker (set on the loop thread, read after it stopped).
final class RefusalFlag: @unchecked Sendable {
    // @unchecked Sendable invariant: written once before the loop stops, read after it stopped.
    private(set) var reason: String?
    func set(_ reason: String) { self.reason = reason }
}

/// The coordinator refused this worker at Hello; exits non-zero with the coordinator's reason.
struct Refused: Error, CustomStringConvertible {
    let reason: String
    var description: String { "the coordinator refused this worker: \(reason)" }
}
