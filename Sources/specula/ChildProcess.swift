import Foundation

/// Another `specula` process started by this one (a benchmark's server, the demo's workers),
/// stopped with SIGTERM when no longer needed.
final class ChildProcess {
    let process: Process
    let address: HostPort

    private init(process: Process, address: HostPort) {
        self.process = process
        self.address = address
    }

    /// This executable, to run as a child.
    static var specula: URL { URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath() }

    /// A process for `specula arguments…`, pinned to CPU `cpu` with taskset when given.
    static func makeProcess(_ arguments: [String], cpu: Int?) -> Process {
        let process = Process()
        if let cpu {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "\(cpu)", specula.path] + arguments
        } else {
            process.executableURL = specula
            process.arguments = arguments
        }
        return process
    }

    /// Runs `specula arguments…` (on CPU `cpu` if given), waits for its `listening on HOST:PORT`
    /// line (30 s at most: loading a model comes first).
    static func startListening(arguments: [String], cpu: Int? = nil) throws -> ChildProcess {
        let process = makeProcess(arguments, cpu: cpu)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        var line = Data()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { break }
            if byte == Data("\n".utf8) {
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("listening on "), let address = try? HostPort(String(text.dropFirst("listening on ".count)), flag: "listening") {
                    return ChildProcess(process: process, address: address)
                }
                line.removeAll()
            } else {
                line.append(byte)
            }
        }
        process.terminate()
        throw ChildProcessError.noListeningLine(arguments.joined(separator: " "))
    }

    /// Runs `specula arguments…` (on CPU `cpu` if given) without waiting for anything.
    static func start(arguments: [String], cpu: Int? = nil) throws -> Process {
        let process = makeProcess(arguments, cpu: cpu)
        try process.run()
        return process
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// A child process did not come up.
enum ChildProcessError: Error, CustomStringConvertible {
    case noListeningLine(String)

    var description: String { "specula \(self.command) did not print 'listening on HOST:PORT' within 30 s" }
    private var command: String {
        switch self { case .noListeningLine(let c): c }
    }
}

/// Child processes to stop together (SIGTERM, then SIGKILL after 5 s), from any thread.
final class ChildProcessGroup: @unchecked Sendable {
    // @unchecked Sendable invariant: `processes` is guarded by `lock`.
    private let lock = NSLock()
    private var processes: [Process]

    init(_ processes: [Process]) { self.processes = processes }

    func add(_ process: Process) { lock.withLock { processes.append(process) } }

    func terminateAll() {
        let all = lock.withLock { defer { processes.removeAll() }; return processes }
        for process in all where process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(5)
        for process in all {
            while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }
}
