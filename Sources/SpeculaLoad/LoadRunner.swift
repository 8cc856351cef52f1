import Foundation
import Synchronization
import SpeculaCore

/// Drives a server through a `LoadBackend` with simulated clients per a `LoadTestConfiguration`
/// and returns one `RequestRecord` per request sent: every request either completes or fails
/// with a kind, none is lost (a request still running when the test ends waits for its timeout).
package final class LoadRunner: Sendable {
    /// Counts for the live progress line.
    package struct Progress: Sendable {
        package var elapsedSeconds = 0.0
        package var sent = 0
        package var completed = 0
        package var failed = 0
        package var outputTokens = 0
        package var inFlight: Int { sent - completed - failed }
    }

    private struct State {
        var issued = 0
        var progress = Progress()
        var records: [RequestRecord] = []
    }

    private let configuration: LoadTestConfiguration
    private let backend: any LoadBackend
    private let state = Mutex(State())
    private let start = ContinuousClock.now

    private init(configuration: LoadTestConfiguration, backend: any LoadBackend) {
        self.configuration = configuration
        self.backend = backend
    }

    /// Runs the test against `backend`; `report` is called about once a second with the progress.
    package static func run(_ configuration: LoadTestConfiguration, backend: any LoadBackend,
                            report: @escaping @Sendable (Progress) -> Void) async -> (records: [RequestRecord], seconds: Double) {
        let runner = LoadRunner(configuration: configuration, backend: backend)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                report(runner.progress)
            }
        }
        switch configuration.arrival {
        case .closed(let concurrency): await runner.closedLoop(concurrency: concurrency)
        default: await runner.openLoop()
        }
        ticker.cancel()
        report(runner.progress)
        let records = runner.state.withLock { $0.records }.sorted { $0.index < $1.index }
        return (records, runner.elapsed)
    }
    private var elapsed: Double { (ContinuousClock.now - start) / .seconds(1) }

    private var progress: Progress {
        var p = state.withLock { $0.progress }
        p.elapsedSeconds = elapsed
        return p
    }

    /// The next request's index, or nil once the request count or duration is reached.
    private func issue() -> Int? {
        let now = elapsed
        return state.withLock { s in
            if let n = configuration.requests, s.issued >= n { return nil }
            if let d = configuration.durationSeconds, now >= d { return nil }
            s.issued += 1
            s.progress.sent += 1
            return s.issued - 1
        }
    }

    private func closedLoop(concurrency: Int) async {
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    let delay = self.configuration.rampUpSeconds * Double(client) / Double(concurrency)
                    if delay > 0 { try? await Task.sleep(for: .seconds(delay)) }
                    while let index = self.issue() { await self.send(index) }
                }
            }
        }
    }

    private func openLoop() async {
        var random = RandomStream(seed: configuration.seed, stream: 0x10AD)
        await withTaskGroup(of: Void.self) { group in
            var next = 0.0
            while true {
                let ramp = configuration.rampUpSeconds > 0 ? min(1, next / configuration.rampUpSeconds) : 1
                next += configuration.arrival.nextGap(rateScale: ramp, random: &random)
                let wait = next - elapsed
                if wait > 0 { try? await Task.sleep(for: .seconds(wait)) }
                guard let index = issue() else { break }
                group.addTask { await self.send(index) }
            }
        }
    }

    /// Sends request `index` and records it to the end.
    private func send(_ index: Int) async {
        var random = RandomStream(seed: configuration.seed, stream: UInt64(index))
        let (prompt, maxTokens) = configuration.prompts.request(index, random: &random)
        let request = LoadRequest(index: index, prompt: prompt, maxTokens: maxTokens, seed: configuration.seed &* 1_000_003 &+ UInt64(index))
        let sent = ContinuousClock.now
        let initial = RequestRecord(index: index, startSeconds: (sent - start) / .seconds(1))
        let timeout = configuration.requestTimeoutSeconds
        let record = await withTaskGroup(of: RequestRecord?.self) { group in
            group.addTask {
                var record = initial
                var previous: ContinuousClock.Instant?
                var counted = 0
                do {
                    for try await event in self.backend.generate(request) {
                        let now = ContinuousClock.now
                        switch event {
                        case .chunk(let tokens, let passes):
                            record.observe(passes: passes, elapsed: (now - sent) / .seconds(1), sincePrevious: previous.map { (now - $0) / .seconds(1) })
                            previous = now
                            counted += tokens
                            self.state.withLock { $0.progress.outputTokens += tokens }
                        case .done(let completion):
                            record.finish(completion, elapsed: (now - sent) / .seconds(1))
                            // Chunks that do not say how many tokens they carry are counted at the end.
                            self.state.withLock { $0.progress.outputTokens += max(0, completion.outputTokens - counted) }
                            return record
                        }
                    }
                    record.error = Task.isCancelled ? LoadErrorKind.timeout.rawValue : LoadErrorKind.incomplete.rawValue
                } catch LoadBackendError.refused {
                    record.error = LoadErrorKind.refused.rawValue
                } catch LoadBackendError.server {
                    record.error = LoadErrorKind.serverError.rawValue
                } catch {
                    record.error = Task.isCancelled ? LoadErrorKind.timeout.rawValue : LoadErrorKind.connectionLost.rawValue
                }
                return record
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return nil
            }
            var result = initial
            result.error = LoadErrorKind.timeout.rawValue
            if let first = await group.next(), let finished = first { result = finished }
            group.cancelAll()
            return result
        }
        state.withLock { s in
            if record.succeeded { s.progress.completed += 1 } else { s.progress.failed += 1 }
            s.records.append(record)
        }
    }
}
