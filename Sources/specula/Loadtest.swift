import ArgumentParser

/// `specula loadtest`: simulated clients against a running coordinator.
struct Loadtest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test a running coordinator with simulated clients.",
        discussion: """
            Closed-loop (fixed concurrency) or open-loop (constant, Poisson or gamma arrivals) \
            clients; reports time to first token, inter-token latency, throughput, goodput and \
            speculative metrics with HDR-histogram percentiles.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"

    func run() async throws {
        throw Unavailable(command: "loadtest", missing: "the load generator (load-testing issue)")
    }
}
