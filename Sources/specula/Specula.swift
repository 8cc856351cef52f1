import ArgumentParser
import SpeculaKernels

/// The one command-line program: every Specula role and tool is a subcommand.
@main
struct Specula: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "specula",
        abstract: "A distributed speculative-decoding cluster.",
        discussion: """
            Draft workers run a small model and stream candidate token blocks to a coordinator that \
            holds the large target model; the coordinator verifies several drafts at once with a \
            lossless multi-draft block verifier. The output has exactly the distribution the target \
            alone would produce.

            Start a cluster:  specula coordinator --model qwen2.5-coder-1.5b
            Add draft workers: specula draft --model qwen2.5-coder-0.5b
            Try it locally:    specula demo
            """,
        version: "0.1.0; kernel levels this CPU runs: "
            + KernelLevel.available(on: .current).map(\.rawValue).joined(separator: ", "),
        subcommands: [
            Coordinator.self, Draft.self, Generate.self, Sample.self, Loadtest.self, ClusterSim.self, Bench.self,
            Demo.self, Models.self,
        ])
}
