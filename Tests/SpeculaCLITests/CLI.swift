import Foundation

/// Runs the real `specula` binary (the one `make` built: $SPECULA_BIN, else the build folder
/// beside this package) and collects its output.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["SPECULA_BIN"] { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for config in ["release", "debug"] {
            let candidate = root.appendingPathComponent(".build/\(config)/specula")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return root.appendingPathComponent(".build/release/specula")
    }

    /// Runs `specula arguments…`; throws when it exits non-zero.
    static func run(_ arguments: [String]) throws -> String {
        let result = try runAllowingFailure(arguments)
        guard result.status == 0 else { throw Failure(arguments: arguments, result: result) }
        return result.stdout
    }

    static func runAllowingFailure(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        // stdout through a pipe read to its end; stderr into a file, so neither can block the child.
        let out = Pipe()
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("specula-stderr-\(UUID())")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let err = try FileHandle(forWritingTo: errURL)
        defer { try? FileManager.default.removeItem(at: errURL) }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try err.close()
        let stderrData = try Data(contentsOf: errURL)
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self), stderr: String(decoding: stderrData, as: UTF8.self))
    }

    struct Failure: Error, CustomStringConvertible {
        let arguments: [String]
        let result: Result
        var description: String { "specula \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)" }
    }
}
