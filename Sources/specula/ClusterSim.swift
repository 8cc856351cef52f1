import ArgumentParser
import Foundation
import SpeculaNet

/// `specula cluster-sim`: a simulated cluster (synthetic models with simulated latencies) to
/// load-test, far bigger than this machine.
struct ClusterSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-sim",
        abstract: "Start a coordinator and N draft workers with synthetic models and simulated latencies.",
        discussion: """
            Runs the real coordinator and real draft workers (real sockets, protocol, scheduling and \
            verification) over synthetic models whose forward passes sleep a + b·tokens ms instead of \
            computing, so hundreds of workers fit in a few processes (--workers-per-process each, one \
            connection and drafting queue per worker). Prints `listening on HOST:PORT` when the \
            workers are started; stops everything on SIGINT/SIGTERM or after --duration seconds.

            How the simulation maps to hardware (--preset):
              gpu-70b-cpu-1b  target 35 + 0.05·B ms per pass of B tokens: a 70B model on one big GPU, \
            where a pass costs about the same for 1 to 64 tokens; drafts 8 ms per token: a 1B model \
            on a 16-core CPU. Vocabulary 4,096 with peaked rows (peak=32: about ten likely tokens, as a \
            language model); drafts agree with the target at 0.8.
              cpu-1.5b-cpu-0.5b  target 27 + 6.5·B ms (the measured Qwen2.5 1.5B on 2 cores, where \
            a pass grows with its length); drafts 17 ms per token (the 0.5B).
            --target and --draft take any synthetic spec instead (see `specula models info`).
            The machine running the simulation must keep up: sleeping threads cost little, but \
            every round is real protocol work; watch the coordinator's CPU.
            """)

    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case gpu70bCpu1b = "gpu-70b-cpu-1b"
        case cpu15bCpu05b = "cpu-1.5b-cpu-0.5b"

        var target: String {
            switch self {
            case .gpu70bCpu1b: "synthetic:vocab=4096,seed=70,peak=32,latency=35+0.05"
            case .cpu15bCpu05b: "synthetic:vocab=4096,seed=15,peak=32,latency=27+6.5"
            }
        }

        /// A draft of `target`: the same rows mixed at agreement 0.8, with its own latency.
        var draft: String {
            switch self {
            case .gpu70bCpu1b: "synthetic:vocab=4096,seed=70,peak=32,latency=8+0,agreement=0.8,draft-seed=1"
            case .cpu15bCpu05b: "synthetic:vocab=4096,seed=15,peak=32,latency=17+0,agreement=0.8,draft-seed=1"
            }
        }
    }

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Simulated hardware: gpu-70b-cpu-1b or cpu-1.5b-cpu-0.5b.") var preset: Preset = .gpu70bCpu1b
    @Option(help: "Target model spec (overrides the preset).") var target: String?
    @Option(help: "Draft model spec (overrides the preset).") var draft: String?
    @Option(help: "Draft workers (up to 256).") var workers: Int = 8
    @Option(help: "Workers per draft process.") var workersPerProcess: Int = 32
    @Option(help: "Coordinator port (0: any free port).") var port: Int = 7070
    @Option(help: "Seconds to run before stopping (default: until SIGINT/SIGTERM).") var duration: Double?
    @Option(help: "Extra coordinator flags, space-separated (e.g. \"--wait-deadline-ms 200\").") var coordinatorFlags: String = ""

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be in 1...256.") }
        guard workersPerProcess >= 1 else { throw ValidationError("--workers-per-process must be ≥ 1.") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535.") }
    }

    var targetSpec: String { target ?? preset.target }

    var draftSpec: String { draft ?? preset.draft }

    func run() async throws {
        let logLevel = ["--log-level", logging.logLevel.rawValue]
        let coordinator = try ChildProcess.startListening(
            arguments: ["coordinator", "--model", targetSpec, "--port", "\(port)"] + logLevel + coordinatorFlags.split(separator: " ").map(String.init))
        let children = ChildProcessGroup([coordinator.process])
        let loop = try EventLoop()
        defer {
            children.terminateAll()
            loop.shutdown()
        }
        try loop.onTerminationSignal { _ in
            children.terminateAll()
            Foundation.exit(0)
        }
        let address = "\(coordinator.address.host):\(coordinator.address.port)"
        var started = 0, processes = 0
        while started < workers {
            let count = min(workersPerProcess, workers - started)
            children.add(try ChildProcess.start(arguments: ["draft", "--model", draftSpec, "--coordinator", address, "--count", "\(count)", "--name", "sim\(processes)"] + logLevel))
            started += count
            processes += 1
        }
        FileHandle.standardError.write(Data("cluster-sim: target \(targetSpec)\ncluster-sim: \(workers) workers (\(draftSpec)) in \(processes) processes\n".utf8))
        print("listening on \(address)")
        fflush(nil)
        if let duration {
            try await Task.sleep(for: .seconds(duration))
        } else {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}
