import ArgumentParser

/// `specula bench`: benchmarks with JSON output.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks: verifiers, network, engine, end to end. JSON with --json.",
        subcommands: [BenchVerifiers.self, BenchNet.self, BenchEngine.self, BenchE2E.self])
}
