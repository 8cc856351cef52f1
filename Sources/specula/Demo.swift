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
            few prompts with the default verifier and with the target alone, prints the output and \
            a table: target passes, tokens per pass, acceptance per draft position. Every process it \
            started is stopped at the end, also on Ctrl-C.

            This build runs the demo on toy n-gram models (a 32-token vocabulary, the draft agreeing \
            with the target most of the time); the Qwen pair takes their place once the GGUF engine \
            lands.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Tokens per prompt.") var maxTokens: Int = 48
    @Option(help: "Drafts per round (K).") var drafts: Int = 2
    @Option(help: "Block length (γ).") var block: Int = 4

    func run() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("specula-demo-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pair = RandomToyModels.agreeingPair(vocabularySize: 32, order: 3, agreement: 0.8, seed: 2026)
        let targetFile = directory.appendingPathComponent("target.json")
        let draftFile = directory.appendingPathComponent("draft.json")
        try pair.target.jsonData().write(to: targetFile)
        try pair.draft.jsonData().write(to: draftFile)

        print("▶ starting coordinator and two draft workers (toy models in \(directory.path))")
        let coordinator = try ChildProcess.startListening(arguments: ["coordinator", "--model", targetFile.path, "--port", "0", "--log-level", "warning"])
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
            children.add(try ChildProcess.start(arguments: ["draft", "--model", draftFile.path, "--coordinator", address, "--name", name, "--log-level", "warning"]))
        }
        try await Task.sleep(for: .milliseconds(500))
        let client = try await SpeculaClient.connect(loop: loop, host: coordinator.address.host, port: coordinator.address.port)
        defer { client.close() }

        let prompts: [[UInt32]] = [[1, 2, 3], [7, 7], [20, 4, 11, 9]]
        var table: [DemoStats] = []
        for (mode, k) in [("target alone", 0), ("cluster, multidraft-block K=\(drafts) γ=\(block)", drafts)] {
            var stats = DemoStats(mode: mode, block: block)
            for (i, prompt) in prompts.enumerated() {
                var request = GenerateRequest()
                request.promptTokens = prompt
                request.maxTokens = UInt32(maxTokens)
                request.sampling = WireSampling(temperature: 1)
                request.seed = UInt64(i)
                request.numDrafts = UInt32(k)
                request.noDraft = k == 0
                request.blockLength = UInt32(block)
                let started = Date()
                var tokens: [UInt32] = []
                for try await event in client.generate(request) {
                    if case .chunk(let chunk) = event {
                        tokens += chunk.tokens
                        for round in chunk.rounds { stats.add(round) }
                    }
                }
                stats.seconds += Date().timeIntervalSince(started)
                stats.tokens += tokens.count
                if k > 0 { print("prompt \(prompt) → \(tokens.map(String.init).joined(separator: " "))") }
            }
            table.append(stats)
        }
        print("")
        print("mode".padding(toLength: 44, withPad: " ", startingAt: 0) + "tokens  passes  tokens/pass  tokens/s   acceptance by position")
        for s in table { print(s.row) }
    }
}

/// Totals of one demo mode.
struct DemoStats {
    let mode: String
    let block: Int
    var tokens = 0
    var passes = 0
    var seconds = 0.0
    var acceptedAt: [Int]
    var draftedRounds = 0

    init(mode: String, block: Int) {
        self.mode = mode
        self.block = block
        acceptedAt = Array(repeating: 0, count: block)
    }

    mutating func add(_ round: RoundStats) {
        passes += 1
        guard round.drafts > 0 else { return }
        draftedRounds += 1
        for position in 0..<min(Int(round.accepted), block) { acceptedAt[position] += 1 }
    }

    var row: String {
        let perPosition = draftedRounds == 0 ? "—" : acceptedAt.map { String(format: "%.2f", Double($0) / Double(draftedRounds)) }.joined(separator: " ")
        return mode.padding(toLength: 44, withPad: " ", startingAt: 0)
            + String(format: "%6d  %6d  %11.2f  %8.0f   ", tokens, passes, Double(tokens) / Double(max(passes, 1)), Double(tokens) / max(seconds, 1e-9))
            + perPosition
    }
}
