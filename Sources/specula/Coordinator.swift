import ArgumentParser

/// `specula coordinator`: holds the target model, accepts workers and clients, runs rounds.
struct Coordinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the coordinator: the target model, the scheduler and the verifier.",
        discussion: """
            Listens for draft workers and clients (default 127.0.0.1:7070). For each request it asks \
            the workers for K drafts of γ tokens, verifies all of them in one batched target pass \
            with a lossless verifier, streams the accepted tokens to the client and broadcasts the \
            accepted prefix to the workers. Binding an address other than loopback needs \
            --auth-secret or --insecure.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Target model: a GGUF file, a name from `specula models list`, a toy n-gram JSON file or a synthetic-model spec.")
    var model: String?
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "TCP port to listen on (0: any free port, printed at start).") var port: Int = 7070

    func run() async throws {
        throw Unavailable(command: "coordinator", missing: "the coordinator's round loop (cluster issue)")
    }
}
