import ArgumentParser
import Foundation
import SpeculaBench
import SpeculaCluster
import SpeculaModel
import SpeculaNet

/// `specula bench e2e`.
struct BenchE2E: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Verifiers side by side on real models: tokens/s, speedup, tokens per target pass.",
        discussion: """
            Runs, in one process and one run, the target alone and each verifier configuration on \
            a code and a prose chat prompt, at each --temperatures value (at temperature 0 the \
            multi-draft rows use the greedy verifier). The projected GPU-like speedup assumes a \
            target pass that costs the same for 1 to 64 tokens.

            With --cluster it then runs the same grid through a real cluster: a coordinator pinned \
            to CPU 0 (1 thread) and two draft workers pinned to CPU 1 (1 thread each), with \
            taskset, reporting the time the coordinator waited for drafts; "vs local" compares \
            each cluster row with the target alone on both cores; "own" counts the tokens the \
            cluster's target decoded alone while drafts were made (tokens/pass leaves them out).
            """)

    @Option(help: "Target model.") var target: String = "qwen2.5-coder-1.5b"
    @Option(help: "Draft model.") var draft: String = "qwen2.5-coder-0.5b"
    @Option(help: "New tokens per prompt.") var maxTokens: Int = 128
    @Option(help: "Temperatures, comma-separated.") var temperatures: String = "0,0.7"
    @Option(help: "Compute threads.") var threads: Int = 2
    @OptionGroup var kernelOptions: KernelOptions
    @Option(help: "The draft's output head (as `specula draft --output-head`).") var draftOutputHead: OutputHead?
    @Option(help: "The draft's layer weights (as `specula draft --weights`).") var draftWeights: LayerWeights?
    @Flag(help: "γ = 4 and K = 2 only.") var quick = false
    @Flag(help: "Also run the grid through a cluster (coordinator on CPU 0, two workers on CPU 1).") var cluster = false
    @Flag(help: ArgumentHelp(
        "Also compare the kinds of drafter through a cluster, prompt by prompt, input-grounded prompts added.",
        discussion: "Two draft-model workers alone, a prompt-lookup worker alone, and all three in mixed rounds, each in a fresh "
            + "cluster (coordinator on CPU 0, workers on CPU 1), beside the target alone on 2 threads; K and γ left to the coordinator."))
    var drafterKinds = false
    @Flag(inversion: .prefixedNo, help: "Let the cluster's coordinator decode while drafts are made from scratch (as `specula coordinator`).")
    var decodeWhileDrafting = true
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let temps = try temperatures.split(separator: ",").map { part -> Double in
            guard let t = Double(part), t >= 0 else { throw ValidationError("--temperatures must be non-negative numbers, got '\(part)'.") }
            return t
        }
        let targetModel = try ClusterModel.load(target, threads: threads)
        let draftModel = try ClusterModel.loadDraft(draft, threads: threads, outputHead: draftOutputHead, layerWeights: draftWeights)
        let progress = { (note: String) in FileHandle.standardError.write(Data("… \(note)\n".utf8)) }
        var report = try EndToEndBenchmark.run(target: targetModel, draft: draftModel, maxTokens: maxTokens, temperatures: temps, quick: quick, progress: progress)
        if cluster { report.rows += try await clusterRows(temperatures: temps, progress: progress) }
        if drafterKinds { report.drafterKinds = try await drafterKindRows(temperatures: temps, progress: progress) }
        if json {
            try JSONOutput.print(report)
            return
        }
        printGrid(report)
        if let kinds = report.drafterKinds { printDrafterKinds(kinds) }
    }

    private func printGrid(_ report: EndToEndBenchmark.Report) {
        print("mode     verifier                  K    γ    τ   tokens/s  speedup  vs local  tokens/pass  draft wait s  target s  GPU-like   own")
        for r in report.rows {
            let c = r.configuration
            let local = report.rows.first { $0.mode == "local" && $0.configuration.drafts == 0 && $0.temperature == r.temperature }?.tokensPerSecond ?? r.tokensPerSecond
            // Adaptive rows show the mean K and γ the coordinator chose.
            let k = r.chosenDrafts.map { String(format: "%4.1f", $0) } ?? String(format: "%4d", c.drafts)
            let gamma = r.chosenBlockLength.map { String(format: "%4.1f", $0) } ?? String(format: "%4d", c.blockLength)
            let name = c.adaptive ? "\(c.verifier) (auto)" : c.verifier
            print(String(format: "%@ %@ %@ %@ %4.1f %9.2f %8.2f %9.2f %12.2f %13.1f %9.1f %9.2f %@", r.mode.padding(toLength: 8, withPad: " ", startingAt: 0),
                         name.padding(toLength: 24, withPad: " ", startingAt: 0), k, gamma, r.temperature, r.tokensPerSecond, r.speedup,
                         r.tokensPerSecond / local, r.tokensPerPass, r.draftWaitSeconds, r.targetSeconds, r.projectedGPUSpeedup,
                         r.decodedWhileDrafting.map { String(format: "%5d", $0) } ?? "    —"))
        }
    }

    private func printDrafterKinds(_ rows: [DrafterKindsBenchmark.Row]) {
        print("\ndrafters        prompt  grounded    τ   tokens/s  speedup  tokens/pass  mixed passes")
        for r in rows {
            print(String(format: "%@ %6d  %8@ %4.1f %9.2f %8.2f %12.2f %13d", r.drafters.padding(toLength: 14, withPad: " ", startingAt: 0), r.prompt,
                         r.grounded ? "yes" : "no", r.temperature, r.tokensPerSecond, r.speedup, r.tokensPerPass, r.mixedPasses))
        }
    }

    /// Starts the pinned cluster, runs the grid through it, stops it.
    func clusterRows(temperatures: [Double], progress: (String) -> Void) async throws -> [EndToEndBenchmark.Row] {
        try await withCluster(workers: [draft, draft]) { client in
            try await ClusterEndToEndBenchmark.run(client: client, maxTokens: maxTokens, temperatures: temperatures, quick: quick, progress: progress)
        }
    }

    /// The target alone on 2 threads, then each kind of drafter in a fresh pinned cluster.
    func drafterKindRows(temperatures: [Double], progress: (String) -> Void) async throws -> [DrafterKindsBenchmark.Row] {
        let baseline = try await withCluster(workers: [], targetThreads: 2, pinned: false) { client in
            try await DrafterKindsBenchmark.run(client: client, drafters: "target alone", maxTokens: maxTokens, temperatures: temperatures,
                                                baseline: [], progress: progress)
        }
        var rows = baseline
        for (name, workers) in [("draft model", [draft, draft]), ("prompt lookup", ["prompt-lookup"]), ("mixed", [draft, draft, "prompt-lookup"])] {
            rows += try await withCluster(workers: workers) { client in
                try await DrafterKindsBenchmark.run(client: client, drafters: name, maxTokens: maxTokens, temperatures: temperatures,
                                                    baseline: baseline, progress: progress)
            }
        }
        return rows
    }

    /// Runs `body` against a coordinator (`targetThreads`, on CPU 0 when `pinned`) with draft
    /// workers of the given models (1 thread each, on CPU 1 when `pinned`), then stops them all.
    private func withCluster<T>(workers: [String], targetThreads: Int = 1, pinned: Bool = true,
                                _ body: (SpeculaClient) async throws -> T) async throws -> T {
        let coordinator = try ChildProcess.startListening(
            arguments: ["coordinator", "--model", target, "--port", "0", "--threads", String(targetThreads), "--log-level", "warning"]
                + (decodeWhileDrafting ? [] : ["--no-decode-while-drafting"]), cpu: pinned ? 0 : nil)
        let children = ChildProcessGroup([coordinator.process])
        defer { children.terminateAll() }
        let address = "\(coordinator.address.host):\(coordinator.address.port)"
        for (i, model) in workers.enumerated() {
            let output = model == draft ? (draftOutputHead.map { ["--output-head", $0.name] } ?? []) + (draftWeights.map { ["--weights", $0.name] } ?? []) : []
            children.add(try ChildProcess.start(arguments: ["draft", "--model", model, "--coordinator", address, "--name", "bench-\(i)", "--threads", "1",
                                                            "--log-level", "warning"] + output, cpu: pinned ? 1 : nil))
        }
        if !workers.isEmpty { try await Task.sleep(for: .seconds(5)) }
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let client = try await SpeculaClient.connect(loop: loop, host: coordinator.address.host, port: coordinator.address.port)
        defer { client.close() }
        return try await body(client)
    }
}
