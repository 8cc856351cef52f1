import ArgumentParser
import Logging

/// `--log-level`, shared by every subcommand that logs; bootstraps swift-log once.
struct LoggingOptions: ParsableArguments {
    @Option(
        help: "Minimum log level: trace, debug, info, notice, warning, error, critical.",
        transform: { text in
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical; got '\(text)'.")
            }
            return level
        })
    var logLevel: Logger.Level = .info

    /// Bootstraps swift-log to standard error at `logLevel` and returns a logger labelled `label`.
    func makeLogger(_ label: String) -> Logger {
        let level = logLevel
        LoggingBootstrap.once(level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Calls `LoggingSystem.bootstrap` at most once per process.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false  // only touched from the main task, at start-up

    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
