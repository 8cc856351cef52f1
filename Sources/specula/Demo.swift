import ArgumentParser

/// `specula demo`: a local cluster end to end.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local cluster (coordinator + two draft workers) and generate a few texts.",
        discussion: """
            Fetches the default Qwen pair if missing, starts a coordinator and two draft workers as \
            separate processes on loopback, sends code and prose prompts, prints the text and a \
            speed table, and stops every process it started (also on Ctrl-C).
            """)

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        throw Unavailable(command: "demo", missing: "the cluster (cluster issue)")
    }
}
