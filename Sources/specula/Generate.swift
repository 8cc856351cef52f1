import ArgumentParser

/// `specula generate`: the client.
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text through a coordinator (or locally), streaming it as it arrives.",
        discussion: """
            specula generate --coordinator HOST:PORT "prompt" streams the completion. --local runs \
            target and drafts in one process, --no-draft plain target decoding, for comparisons.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"
    @Argument(help: "The prompt.") var prompt: String?

    func run() async throws {
        throw Unavailable(command: "generate", missing: "the client library (cluster issue)")
    }
}
