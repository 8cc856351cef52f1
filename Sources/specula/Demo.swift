import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// `specula demo`: a local cluster end to end.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local mixed cluster (coordinator, two draft workers, a prompt-lookup worker) and generate a few answers.",
        discussion: """
            Generates each prompt's whole answer (up to --max-tokens) three ways: with the target \
            alone, given as many threads as the cluster uses cores; with a cluster of a \
            coordinator, two draft-model workers and a model-free prompt-lookup worker, all \
            separate processes on loopback, whose rounds mix the drafts of both kinds at fixed K \
            and γ; and with K and γ left to the coordinator. Prints the answers and a table: \
            target passes, passes that verified drafts of both kinds, tokens per pass, tokens \
            per second, acceptance per draft position. Every process it started is stopped at \
            the end, also on Ctrl-C.

            By default the models are the Qwen2.5-Coder pair (1.5B target, 0.5B drafts), fetched \
            into the model cache if missing; --toy uses toy n-gram models instead (instant).
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Most tokens per answer (answers end earlier at the end of sequence).") var maxTokens: Int = 256
    @Option(help: "Drafts per round (K) of the draft-model workers.") var drafts: Int = 2
    @Option(help: "Block length (γ).") var block: Int = 4
    @Flag(help: "Use toy n-gram models instead of the Qwen pair.") var toy = false

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("specula-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (targetModel, draftModel, prompts) = try models(in: directory)
        // One core for the coordinator and one per draft-model worker (prompt lookup costs next
        // to nothing), as far as the machine has them: the target alone gets as many threads.
        let cores = min(ProcessInfo.processInfo.activeProcessorCount, 3)
        let children = ChildProcessGroup([])
        let loop = try EventLoop()
        defer {
            children.terminateAll()
            loop.shutdown()
        }
        try loop.onTerminationSignal { _ in
            children.terminateAll()
            Foundation.exit(130)
        }

        say("▶ the target alone (\(targetModel), \(cores) threads)")
        let alone = try ChildProcess.startListening(arguments: ["coordinator", "--model", targetModel, "--port", "0", "--threads", String(cores),
                                                                "--log-level", "warning"])
        children.add(alone.process)
        var table = [try await generate(mode: "target alone, \(cores) threads", drafts: 0, block: block, prompts: prompts,
                                        at: alone.address, loop: loop)]
        alone.terminate()

        say("▶ a cluster: a coordinator (1 thread), two draft workers (\(draftModel), 1 thread each) and a prompt-lookup worker")
        let coordinator = try ChildProcess.startListening(arguments: ["coordinator", "--model", targetModel, "--port", "0", "--threads", "1",
                                                                      "--log-level", "warning"])
        children.add(coordinator.process)
        let address = "\(coordinator.address.host):\(coordinator.address.port)"
        for (name, model) in [("worker-a", draftModel), ("worker-b", draftModel), ("lookup", "prompt-lookup")] {
            children.add(try ChildProcess.start(arguments: ["draft", "--model", model, "--coordinator", address, "--name", name, "--threads", "1",
                                                            "--log-level", "warning"]))
        }
        // The workers load their model and measure their speed before they join.
        try await Task.sleep(for: .milliseconds(toy ? 500 : 6000))
        // Fixed K and γ, then K and γ left to the coordinator (`nil`), which picks them each round
        // from the measured pass cost, draft wait and acceptance.
        table.append(try await generate(mode: "cluster, K=\(drafts)+1 γ=\(block)", drafts: drafts, block: block, prompts: prompts,
                                        at: coordinator.address, loop: loop))
        table.append(try await generate(mode: "cluster, K and γ chosen each round", drafts: 0, block: nil, prompts: prompts,
                                        at: coordinator.address, loop: loop))
        say("")
        say("mode".padding(toLength: 40, withPad: " ", startingAt: 0)
            + "tokens  passes   mixed  tokens/pass  tokens/s   acceptance by position")
        for s in table { say(s.row) }
    }

    /// The target, the draft model and the prompts: the Qwen pair (fetched if missing) with chat
    /// prompts, or with --toy an agreeing toy pair written to `directory` with token prompts.
    private func models(in directory: URL) throws -> (target: String, draft: String, prompts: [DemoPrompt]) {
        guard toy else {
            let store = ModelStore()
            for model in [ModelCatalog.qwenTarget, ModelCatalog.qwenDraft] {
                try store.fetch(model) { say("▶ \($0)") }
            }
            return (ModelCatalog.qwenTarget.name, ModelCatalog.qwenDraft.name,
                    [.chat("Write a Python function that returns the nth Fibonacci number."),
                     .chat("Rewrite this function with a loop instead of recursion:\n\ndef fact(n):\n    if n <= 1:\n        return 1\n"
                           + "    return n * fact(n - 1)\n"),
                     .chat("In two sentences, why is the sky blue?")])
        }
        let pair = RandomToyModels.agreeingPair(vocabularySize: 32, order: 3, agreement: 0.8, seed: 2026)
        let targetFile = directory.appendingPathComponent("target.json")
        let draftFile = directory.appendingPathComponent("draft.json")
        try pair.target.jsonData().write(to: targetFile)
        try pair.draft.jsonData().write(to: draftFile)
        return (targetFile.path, draftFile.path, [.tokens([1, 2, 3]), .tokens([7, 7]), .tokens([20, 4, 11, 9])])
    }

    /// Every prompt's answer from the coordinator at `address` (K = `drafts`, 0 with a `block`:
    /// none; a nil `block`: K and γ left to the coordinator), printed as it ends; their totals.
    private func generate(mode: String, drafts k: Int, block gamma: Int?, prompts: [DemoPrompt], at address: HostPort,
                          loop: EventLoop) async throws -> DemoStats {
        let client = try await SpeculaClient.connect(loop: loop, host: address.host, port: address.port)
        defer { client.close() }
        var stats = DemoStats(mode: mode, block: gamma ?? 8)
        for (i, prompt) in prompts.enumerated() {
            var request = GenerateRequest()
            switch prompt {
            case .tokens(let ids): request.promptTokens = ids
            case .chat(let text):
                request.prompt = text
                request.chat = true
            }
            request.maxTokens = UInt32(toy ? 32 : maxTokens)
            request.sampling = WireSampling(temperature: toy ? 1 : 0)
            request.seed = UInt64(i)
            request.numDrafts = UInt32(k)
            request.noDraft = k == 0 && gamma != nil
            request.blockLength = UInt32(gamma ?? 0)
            let started = ContinuousClock.now
            var tokens: [UInt32] = []
            var text = ""
            say("▶ \(mode): \(prompt)")
            for try await event in client.generate(request) {
                if case .chunk(let chunk) = event {
                    tokens += chunk.tokens
                    text += chunk.text
                    for pass in chunk.passes { stats.add(pass) }
                }
            }
            stats.seconds += (ContinuousClock.now - started) / .seconds(1)
            stats.tokens += tokens.count
            say(toy ? tokens.map(String.init).joined(separator: " ") : text)
        }
        return stats
    }
}

/// Prints a line at once (stdout may be a file or a pipe: keep the demo's progress live).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// A demo prompt: token ids (toy models) or a chat message (real models).
enum DemoPrompt: CustomStringConvertible {
    case tokens([UInt32])
    case chat(String)

    var description: String {
        switch self {
        case .tokens(let ids): "tokens \(ids)"
        case .chat(let text): "\"\(text)\""
        }
    }
}

/// Totals of one demo mode.
struct DemoStats {
    let mode: String
    let block: Int
    var tokens = 0
    var passes = 0
    /// Passes that verified drafts of more than one pool (draft models and prompt lookup).
    var mixedPasses = 0
    var seconds = 0.0
    /// Per draft position: rounds whose block reached it, and rounds that accepted it.
    var attemptedAt: [Int]
    var acceptedAt: [Int]

    init(mode: String, block: Int) {
        self.mode = mode
        self.block = block
        attemptedAt = Array(repeating: 0, count: block)
        acceptedAt = Array(repeating: 0, count: block)
    }

    mutating func add(_ pass: PassStats) {
        passes += 1
        if pass.pools.count > 1 { mixedPasses += 1 }
        guard pass.drafts > 0 else { return }
        for position in 0..<min(Int(pass.depth), block) {
            attemptedAt[position] += 1
            if Int(pass.accepted) > position { acceptedAt[position] += 1 }
        }
    }

    var row: String {
        let reached = zip(acceptedAt, attemptedAt).filter { $0.1 > 0 }
        let perPosition = reached.isEmpty ? "—" : reached.map { String(format: "%.2f", Double($0.0) / Double($0.1)) }.joined(separator: " ")
        return mode.padding(toLength: 40, withPad: " ", startingAt: 0)
            + String(format: "%6d  %6d  %6d  %11.2f  %8.1f   ", tokens, passes, mixedPasses, Double(tokens) / Double(max(passes, 1)),
                     Double(tokens) / max(seconds, 1e-9))
            + perPosition
    }
}
