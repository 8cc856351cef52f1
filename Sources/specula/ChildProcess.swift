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

    /// Runs `specula arguments…`, waits for its `listening on HOST:PORT` line (10 s at most).
    static func startListening(arguments: [String]) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let handle = output.fileHandleForReading
        var line = Data()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
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

    /// Runs `specula arguments…` without waiting for anything.
    static func start(arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = arguments
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

    var description: String { "specula \(self.command) did not print 'listening on HOST:PORT' within 10 s" }
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
        let deadline = Date().addingTimeInterval(5)
        for process in all {
            while process.isRunning && Date() < deadline { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }
}
