import Foundation
import Glibc

/// Real `specula` processes on loopback for cluster tests: a coordinator and workers, stopped
/// (SIGTERM, then SIGKILL) when the harness goes away, and their folder removed.
final class ClusterHarness: @unchecked Sendable {
    // @unchecked Sendable invariant: `workersStorage` is guarded by `lock`; the rest is only
    // touched by the test's own thread.
    private(set) var coordinator: Process?
    private(set) var port = 0
    /// The coordinator's metrics endpoint, when started with `--metrics-port`.
    private(set) var metricsURL: URL?
    private let lock = NSLock()
    private var workersStorage: [Process] = []
    var workers: [Process] { lock.withLock { workersStorage } }
    let directory: URL
    /// The coordinator's standard error, for failure messages.
    var coordinatorLog: URL { directory.appendingPathComponent("coordinator.log") }
    var coordinatorLogText: String { (try? String(contentsOf: coordinatorLog, encoding: .utf8)) ?? "" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("specula-cluster-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        for process in workers + [coordinator].compactMap({ $0 }) { Self.stop(process) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Starts a coordinator (port 0 = any) and waits for its `listening on` line.
    func startCoordinator(model: URL, port requested: Int = 0, extra: [String] = []) throws {
        try startCoordinator(spec: model.path, port: requested, extra: extra)
    }

    /// Starts a coordinator for any `--model` spec (file, cached name, synthetic:…).
    func startCoordinator(spec: String, port requested: Int = 0, extra: [String] = []) throws {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["coordinator", "--model", spec, "--port", String(requested), "--log-level", "warning"] + extra
        let output = Pipe()
        process.standardOutput = output
        _ = FileManager.default.createFile(atPath: coordinatorLog.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: coordinatorLog)
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { throw CLI.Failure(arguments: process.arguments ?? [], result: .init(status: -1, stdout: "", stderr: "coordinator exited")) }
            guard byte == Data("\n".utf8) else {
                line.append(byte)
                continue
            }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll()
            if text.hasPrefix("metrics on ") { metricsURL = URL(string: String(text.dropFirst("metrics on ".count))) }
            if text.hasPrefix("listening on ") {
                port = Int(text.split(separator: ":").last!)!
                break
            }
        }
        coordinator = process
    }

    /// Starts a worker; returns its index in `workers`.
    @discardableResult
    func startWorker(model: URL, extra: [String] = []) throws -> Int {
        try startWorker(spec: model.path, extra: extra)
    }

    /// Starts a worker for any `--model` spec.
    @discardableResult
    func startWorker(spec: String, extra: [String] = []) throws -> Int {
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["draft", "--model", spec, "--coordinator", "127.0.0.1:\(port)", "--log-level", "warning"] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return lock.withLock {
            workersStorage.append(process)
            return workersStorage.count - 1
        }
    }

    func replaceWorker(_ index: Int, with process: Process) { lock.withLock { workersStorage[index] = process } }

    func stopCoordinator() {
        if let coordinator { Self.stop(coordinator) }
        coordinator = nil
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// `specula generate` against this coordinator.
    func generate(_ arguments: [String]) throws -> String {
        try CLI.run(["generate", "--coordinator", "127.0.0.1:\(port)"] + arguments)
    }
}
