import Foundation
package import SpeculaNet

/// `specula bench net`: round-trip latency and message rate of realistic `DraftToken`s against a
/// `NetReflector` on loopback (K = 4 drafts, γ = 8, 64 sparse entries per position).
///
/// Latency is measured on the loop thread (send, then the echo's arrival), so it includes both
/// processes' framing, codec and libuv work but no task hops. Throughput keeps `window` messages in
/// flight.
package enum NetBenchmark {
    package struct Percentiles: Codable, Sendable {
        package var p50: Double
        package var p90: Double
        package var p99: Double
        package var mean: Double
        package var stddev: Double
        package var n: Int

        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            func at(_ q: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
            n = samples.count
            p50 = at(0.5)
            p90 = at(0.9)
            p99 = at(0.99)
            mean = samples.reduce(0, +) / Double(max(1, samples.count))
            let m = mean
            stddev = (samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(1, samples.count - 1))).squareRoot()
        }
    }

    package struct Report: Codable, Sendable {
        package var drafts: Int
        package var blockLength: Int
        package var support: Int
        package var draftBlockBytes: Int
        /// One DraftToken out and back, microseconds.
        package var messageRoundTripMicros: Percentiles
        /// One round (K DraftBlocks) out and all K back, microseconds.
        package var roundRoundTripMicros: Percentiles
        package var throughputMessages: Int
        package var window: Int
        package var messagesPerSecond: Double
        package var megabytesPerSecond: Double
        package var host: String
    }

    /// A realistic draft block: γ tokens, each with a `support`-entry sparse distribution.
    package static func draftToken(index: Int, blockLength: Int = 8, support: Int = 64) -> DraftToken {
        var block = DraftToken()
        block.requestID = 1
        block.round = UInt64(index)
        block.basePosition = 512
        block.draftIndex = UInt32(index % 4)
        block.tokens = (0..<blockLength).map { UInt32(($0 * 7919 + index) % 151_936) }
        block.distributions = (0..<blockLength).map { position in
            WireSparseDistribution(
                tokenIDs: (0..<support).map { UInt32(($0 * 104_729 + position + index) % 151_936) },
                probabilities: (0..<support).map { Float(support - $0) / Float(support * (support + 1) / 2) })
        }
        return block
    }

    package static func run(
        loop: EventLoop, host: String, port: Int, roundTrips: Int, throughputMessages: Int, window: Int
    ) async throws -> Report {
        let driver = EchoDriver()
        let connection = try await loop.connect(host: host, port: port) { _ in
            ConnectionHandlers(onMessage: { connection, message in driver.received(message, on: connection) })
        }
        defer { connection.close(reason: "benchmark done") }
        var hello = Hello()
        hello.role = .client
        hello.nodeID = "bench-net"
        _ = try await driver.exchange(on: connection, messages: [.hello(hello)])

        let blocks = (0..<64).map { Message.draftToken(draftToken(index: $0)) }
        // Warm-up, then one message at a time, then rounds of four.
        _ = try await driver.exchange(on: connection, messages: Array(blocks.prefix(16)))
        var single: [Double] = []
        for i in 0..<roundTrips { single.append(try await driver.exchange(on: connection, messages: [blocks[i % blocks.count]])) }
        var rounds: [Double] = []
        for i in 0..<roundTrips {
            let start = (i * 4) % 60
            rounds.append(try await driver.exchange(on: connection, messages: Array(blocks[start..<start + 4])))
        }
        let throughputMicros = try await driver.stream(on: connection, messages: blocks, total: throughputMessages, window: window)
        let bytes = FrameEncoder.frame(blocks[0]).count
        let seconds = throughputMicros / 1e6
        return Report(
            drafts: 4, blockLength: 8, support: 64, draftBlockBytes: bytes,
            messageRoundTripMicros: Percentiles(single), roundRoundTripMicros: Percentiles(rounds),
            throughputMessages: throughputMessages, window: window,
            messagesPerSecond: Double(throughputMessages) / seconds,
            megabytesPerSecond: Double(throughputMessages * bytes) / seconds / 1e6,
            host: ProcessInfo.processInfo.hostName)
    }
}

/// Drives echo exchanges from the loop thread and reports their duration.
private final class EchoDriver: @unchecked Sendable {
    // @unchecked Sendable invariant: `pending`, `toSend`, `started` and `completion` are set
    // before the first message of an exchange is sent (happens-before via the loop's inbox) and
    // then only touched on the loop thread.
    private var pending = 0
    private var toSend: [Message] = []
    private var sendIndex = 0
    private var remainingToSend = 0
    private var started: UInt64 = 0
    private var completion: CheckedContinuation<Double, Error>?

    /// Sends `messages` at once and returns the microseconds until all echoes arrived.
    func exchange(on connection: Connection, messages: [Message]) async throws -> Double {
        try await stream(on: connection, messages: messages, total: messages.count, window: messages.count)
    }

    /// Sends `total` messages (cycling through `messages`) keeping `window` in flight.
    func stream(on connection: Connection, messages: [Message], total: Int, window: Int) async throws -> Double {
        try await withCheckedThrowingContinuation { continuation in
            connection.loop.execute { [self] in
                completion = continuation
                toSend = messages
                sendIndex = 0
                pending = total
                remainingToSend = total
                started = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<min(window, total) { sendNext(on: connection) }
            }
        }
    }

    private func sendNext(on connection: Connection) {
        guard remainingToSend > 0 else { return }
        remainingToSend -= 1
        connection.send(toSend[sendIndex % toSend.count])
        sendIndex += 1
    }

    func received(_ message: Message, on connection: Connection) {
        if case .error(let error) = message {
            completion?.resume(throwing: BenchmarkError.peerError(error.message))
            completion = nil
            return
        }
        pending -= 1
        sendNext(on: connection)
        if pending == 0, let completion {
            self.completion = nil
            completion.resume(returning: Double(DispatchTime.now().uptimeNanoseconds - started) / 1000)
        }
    }
}

/// A benchmark could not complete.
package enum BenchmarkError: Error, CustomStringConvertible {
    case peerError(String)
    case serverDidNotStart(String)
    case tooLong(String)

    package var description: String {
        switch self {
        case .peerError(let message): "the peer reported an error: \(message)"
        case .serverDidNotStart(let why): "the benchmark server did not start: \(why)"
        case .tooLong(let what): what
        }
    }
}
