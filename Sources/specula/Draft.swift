import ArgumentParser

/// `specula draft`: a draft worker.
struct Draft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a draft worker: a small model that proposes token blocks to a coordinator.",
        discussion: """
            Connects to a coordinator (reconnecting with exponential backoff), serves many requests \
            at once, samples every draft from exactly the sparse distribution it ships, rolls back \
            on Accepted and drafts ahead while a block is being verified.
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Draft model: a GGUF file, a model name, a toy n-gram JSON file or a synthetic-model spec.")
    var model: String?
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"

    func run() async throws {
        throw Unavailable(command: "draft", missing: "the draft worker (cluster issue)")
    }
}
