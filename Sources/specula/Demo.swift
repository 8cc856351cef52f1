import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// `specula demo`: a local cluster end to end.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local cluster (coordinator + two draft workers) and generate a few sequences.",
        discussion: """
            Starts a coordinator and two draft workers as separate processes on loopback, sends a \
            few prompts with the target alone, with the default verifier at fixed K and γ, and with \
            K and γ left to the coordinator, prints the output and a table: target passes, tokens \
            per pass, tokens per second, acceptance per draft position. Every process it \
            started is stopped at the end, also on Ctrl-C.

            By default the models are the Qwen2.5-Coder pair (1.5B target, 0.5B drafts), fetched \
            into the model cache if missing; --toy uses toy n-gram models instead (instant).
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Tokens per prompt.") var maxTokens: Int = 32
    @Option(help: "Drafts per round (K).") var drafts: Int = 2
    @Option(help: "Block length (γ).") var block: Int = 4
    @Flag(help: "Use toy n-gram models instead of the Qwen pair.") var toy = false

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("specula-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let targetModel: String, draftModel: String
        let prompts: [DemoPrompt]
        if toy {
            let pair = RandomToyModels.agreeingPair(vocabularySize: 32, order: 3, agreement: 0.8, seed: 2026)
            let targetFile = directory.appendingPathComponent("target.json")
            let draftFile = directory.appendingPathComponent("draft.json")
            try pair.target.jsonData().write(to: targetFile)
            try pair.draft.jsonData().write(to: draftFile)
            (targetModel, draftModel) = (targetFile.path, draftFile.path)
            prompts = [.tokens([1, 2, 3]), .tokens([7, 7]), .tokens([20, 4, 11, 9])]
        } else {
            let store = ModelStore()
            for model in [ModelCatalog.qwenTarget, ModelCatalog.qwenDraft] {
                try store.fetch(model) { say("▶ \($0)") }
            }
            (targetModel, draftModel) = (ModelCatalog.qwenTarget.name, ModelCatalog.qwenDraft.name)
            prompts = [.chat("Write a Python function that returns the nth Fibonacci number."),
                       .chat("In two sentences, why is the sky blue?")]
        }

        say("▶ starting a coordinator (\(targetModel)) and two draft workers (\(draftModel))")
        let coordinator = try ChildProcess.startListening(arguments: ["coordinator", "--model", targetModel, "--port", "0", "--threads", "1", "--log-level", "warning"])
        let children = ChildProcessGroup([coordinator.process])
        let loop = try EventLoop()
        defer {
            children.terminateAll()
            loop.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
        try loop.onTerminationSignal { _ in
            children.terminateAll()
            Foundation.exit(130)
        }
        let address = "\(coordinator.address.host):\(coordinator.address.port)"
        for name in ["worker-a", "worker-b"] {
            children.add(try ChildProcess.start(arguments: ["draft", "--model", draftModel, "--coordinator", address, "--name", name, "--threads", "1", "--log-level", "warning"]))
        }
        try await Task.sleep(for: .milliseconds(toy ? 500 : 3000))
        let client = try await SpeculaClient.connect(loop: loop, host: coordinator.address.host, port: coordinator.address.port)
        defer { client.close() }

        var table: [DemoStats] = []
        // Fixed K and γ, then K and γ left to the coordinator (`nil`), which picks them each round
        // from the measured pass cost, draft wait and acceptance.
        let modes: [(name: String, drafts: Int, block: Int?)] = [
            ("target alone", 0, block), ("cluster, multidraft-block K=\(drafts) γ=\(block)", drafts, block),
            ("cluster, K and γ chosen each round", 0, nil),
        ]
        for (mode, k, gamma) in modes {
            var stats = DemoStats(mode: mode, block: gamma ?? 8)
            for (i, prompt) in prompts.enumerated() {
                var request = GenerateRequest()
                switch prompt {
                case .tokens(let ids): request.promptTokens = ids
                case .chat(let text):
                    request.prompt = text
                    request.chat = true
                }
                request.maxTokens = UInt32(maxTokens)
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
            table.append(stats)
        }
        say("")
        say("mode".padding(toLength: 44, withPad: " ", startingAt: 0) + "tokens  passes  tokens/pass  tokens/s   acceptance by position")
        for s in table { say(s.row) }
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
        guard pass.drafts > 0 else { return }
        for position in 0..<min(Int(pass.depth), block) {
            attemptedAt[position] += 1
            if Int(pass.accepted) > position { acceptedAt[position] += 1 }
        }
    }

    var row: String {
        let reached = zip(acceptedAt, attemptedAt).filter { $0.1 > 0 }
        let perPosition = reached.isEmpty ? "—" : reached.map { String(format: "%.2f", Double($0.0) / Double($0.1)) }.joined(separator: " ")
        return mode.padding(toLength: 44, withPad: " ", startingAt: 0)
            + String(format: "%6d  %6d  %11.2f  %8.1f   ", tokens, passes, Double(tokens) / Double(max(passes, 1)), Double(tokens) / max(seconds, 1e-9))
            + perPosition
    }
}
