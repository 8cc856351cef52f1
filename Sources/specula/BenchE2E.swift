import ArgumentParser
import Foundation
import SpeculaBench
import SpeculaCluster

/// `specula bench e2e`.
struct BenchE2E: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Verifiers side by side on real models: tokens/s, speedup, tokens per target pass.",
        discussion: """
            Runs, in one process and one run, the target alone and each verifier configuration on \
            a code and a prose chat prompt, at each --temperatures value (at temperature 0 the \
            multi-draft rows use the greedy verifier). The projected GPU-like speedup assumes a \
            target pass that costs the same for 1 to 64 tokens.
            """)

    @Option(help: "Target model.") var target: String = "qwen2.5-coder-1.5b"
    @Option(help: "Draft model.") var draft: String = "qwen2.5-coder-0.5b"
    @Option(help: "New tokens per prompt.") var maxTokens: Int = 128
    @Option(help: "Temperatures, comma-separated.") var temperatures: String = "0,0.7"
    @Option(help: "Compute threads.") var threads: Int = 2
    @Flag(help: "γ = 4 and K = 2 only.") var quick = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let temps = try temperatures.split(separator: ",").map { part -> Double in
            guard let t = Double(part), t >= 0 else { throw ValidationError("--temperatures must be non-negative numbers, got '\(part)'.") }
            return t
        }
        let targetModel = try ClusterModel.load(target, threads: threads)
        let draftModel = try ClusterModel.load(draft, threads: threads)
        let report = EndToEndBenchmark.run(target: targetModel, draft: draftModel, maxTokens: maxTokens, temperatures: temps, quick: quick) { note in
            FileHandle.standardError.write(Data("… \(note)\n".utf8))
        }
        if json {
            try JSONOutput.print(report)
            return
        }
        print("verifier              K  γ    τ   tokens/s  speedup  tokens/pass  draft s  target s  GPU-like")
        for r in report.rows {
            let c = r.configuration
            print(String(format: "%@ %2d %2d %4.1f %9.2f %8.2f %12.2f %8.1f %9.1f %9.2f", c.verifier.padding(toLength: 20, withPad: " ", startingAt: 0), c.drafts, c.blockLength, r.temperature, r.tokensPerSecond, r.speedup, r.tokensPerPass, r.draftSeconds, r.targetSeconds, r.projectedGPUSpeedup))
        }
    }
}
