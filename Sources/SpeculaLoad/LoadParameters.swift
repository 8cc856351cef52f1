import Foundation

/// What a load test ran against and with what settings, written beside its results in
/// `summary.json` so that a number can always be traced to its run: the server and model, the
/// speculative settings asked for (0 / empty: the server's choice), the load, the sampling, the
/// build's commit and the machine.
package struct LoadParameters: Codable, Sendable {
    package var backend: String
    package var server: String
    package var model: String
    package var drafts: Int
    package var blockLength: Int
    package var verifier: String
    package var noDraft: Bool
    package var temperature: Double
    /// The load of each step (closed: concurrency; open: requests/s).
    package var loads: [String]
    package var commit: String
    package var host: String

    package init(backend: String, server: String, model: String, drafts: Int, blockLength: Int, verifier: String, noDraft: Bool,
                 temperature: Double, loads: [String]) {
        self.backend = backend
        self.server = server
        self.model = model
        self.drafts = drafts
        self.blockLength = blockLength
        self.verifier = verifier
        self.noDraft = noDraft
        self.temperature = temperature
        self.loads = loads
        commit = Self.commit()
        host = ProcessInfo.processInfo.hostName
    }

    /// The commit the running binary was built from: `git rev-parse` in the directory that holds
    /// the binary (a build tree inside the checkout), or "unknown" outside a checkout.
    private static func commit() -> String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", binary.path, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        guard (try? git.run()) != nil else { return "unknown" }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        git.waitUntilExit()
        let commit = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return git.terminationStatus == 0 && !commit.isEmpty ? commit : "unknown"
    }
}
