import Foundation
import Glibc
import SpeculaNet
import Synchronization
import Testing

/// Real sockets on loopback: the event loop, connections, listener and connector.
struct TransportTests {
    /// Collects what a connection receives, on the loop thread, and wakes a waiting test.
    final class Inbox: @unchecked Sendable {
        // @unchecked Sendable invariant: guarded by `lock`.
        private let lock = NSCondition()
        private var messages: [Message] = []
        private var closes: [String] = []

        func add(_ message: Message) {
            lock.lock()
            messages.append(message)
            lock.broadcast()
            lock.unlock()
        }

        func closed(_ reason: CloseReason) {
            lock.lock()
            closes.append(reason.description)
            lock.broadcast()
            lock.unlock()
        }

        /// Waits until `count` messages arrived (or `timeout` seconds passed) and returns them.
        func wait(for count: Int, timeout: Double = 30) -> [Message] {
            let deadline = Date().addingTimeInterval(timeout)
            lock.lock()
            defer { lock.unlock() }
            while messages.count < count && lock.wait(until: deadline) {}
            return messages
        }

        func waitForClose(timeout: Double = 10) -> [String] {
            let deadline = Date().addingTimeInterval(timeout)
            lock.lock()
            defer { lock.unlock() }
            while closes.isEmpty && lock.wait(until: deadline) {}
            return closes
        }
    }

    @Test func twoProcessesExchangeTenThousandDraftBlocksByteForByte() async throws {
        let reflector = try ReflectorProcess()
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let inbox = Inbox()
        let connection = try await loop.connect(host: "127.0.0.1", port: reflector.port) { _ in
            ConnectionHandlers(onMessage: { _, message in inbox.add(message) })
        }
        var hello = Hello()
        hello.role = .worker
        connection.send(.hello(hello))
        let sent = (0..<10_000).map { i in Message.draftToken(SampleMessages.draftToken(index: UInt32(i % 16), positions: 1 + i % 8, support: 1 + i % 64, seed: UInt32(i))) }
        // Batches of 500 keep both write queues far below their limits, so nothing is stale-dropped.
        for start in stride(from: 0, to: sent.count, by: 500) {
            for message in sent[start..<start + 500] { connection.send(message) }
            _ = inbox.wait(for: start + 501)
        }
        let received = inbox.wait(for: sent.count + 1)
        try #require(received.count == sent.count + 1, "got \(received.count) of \(sent.count + 1) messages")
        guard case .helloAck(let ack) = received[0] else { Issue.record("first reply was \(received[0].kind)"); return }
        #expect(ack.accepted)
        var mismatches = 0
        for (a, b) in zip(sent, received.dropFirst()) where MessageCodec.encode(a) != MessageCodec.encode(b) { mismatches += 1 }
        #expect(mismatches == 0, "\(mismatches) echoed frames differ from what was sent")
        #expect(connection.counters.droppedStale.load(ordering: .relaxed) == 0)
    }

    @Test func messagesSentFromManyThreadsAllArrive() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let inbox = Inbox()
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0) { _ in
            ConnectionHandlers(onMessage: { _, message in inbox.add(message) })
        }
        let connection = try await loop.connect(host: "127.0.0.1", port: listener.port) { _ in ConnectionHandlers(onMessage: { _, _ in }) }
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<500 { connection.send(.cancel(Cancel(requestID: UInt64(thread * 1000 + i)))) }
        }
        let received = inbox.wait(for: 4000)
        #expect(received.count == 4000)
        let ids = Set(received.compactMap { if case .cancel(let c) = $0 { c.requestID } else { nil } })
        #expect(ids.count == 4000)
    }

    @Test func aFullWriteQueueDropsStaleDraftsButNeverControlMessages() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        var options = ConnectionOptions()
        options.writeQueueLimit = 64
        options.heartbeatIntervalMs = 0
        let serverSide = Mutex<Connection?>(nil)
        let accepted = DispatchSemaphore(value: 0)
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: 0, options: options) { connection in
            serverSide.withLock { $0 = connection }
            accepted.signal()
            return ConnectionHandlers(onMessage: { _, _ in })
        }
        // A raw client that does not read until told to.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(listener.port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        try #require(connected == 0)
        accepted.wait()
        let server = try #require(serverSide.withLock { $0 })
        let block = Message.draftToken(SampleMessages.draftToken())
        for _ in 0..<5000 { server.send(block) }
        var done = Done()
        done.requestID = 4242
        server.send(.done(done))
        // Now read everything: the Done must be there, and drafts must have been dropped.
        var decoder = FrameDecoder()
        var sawDone = false
        var drafts = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(20)
        while !sawDone && Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            decoder.append(buffer[..<n])
            while let message = try decoder.nextMessage() {
                if case .done(let d) = message, d.requestID == 4242 { sawDone = true }
                if case .draftToken = message { drafts += 1 }
            }
        }
        #expect(sawDone, "the control message must never be dropped")
        let dropped = server.counters.droppedStale.load(ordering: .relaxed)
        #expect(dropped > 0, "a reader that stalls must make the queue drop stale drafts")
        #expect(drafts + dropped == 5000, "every draft is either delivered or counted as dropped (\(drafts) + \(dropped))")
    }

    @Test func connectorReconnectsWhenTheServerComesBack() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        // Find a free port, then leave it closed for a while.
        let probe = try Listener(loop: loop, host: "127.0.0.1", port: 0) { _ in ConnectionHandlers(onMessage: { _, _ in }) }
        let port = probe.port
        probe.close()
        try await Task.sleep(for: .milliseconds(100))
        let failures = Atomic<Int>(0)
        let connected = Inbox()
        let connector = Connector(
            loop: loop, host: "127.0.0.1", port: port, backoff: ReconnectBackoff(initialMs: 20, maximumMs: 200),
            onAttemptFailed: { _, _ in failures.add(1, ordering: .relaxed) },
            onConnect: { connection in
                connection.send(.cancel(Cancel(requestID: 1, reason: "hello from the connector")))
                return ConnectionHandlers(onMessage: { _, _ in })
            })
        connector.start()
        try await Task.sleep(for: .milliseconds(400))
        #expect(failures.load(ordering: .relaxed) >= 2, "attempts against a closed port must fail and be retried")
        let listener = try Listener(loop: loop, host: "127.0.0.1", port: port) { _ in
            ConnectionHandlers(onMessage: { _, message in connected.add(message) })
        }
        let received = connected.wait(for: 1, timeout: 10)
        #expect(received.count == 1, "the connector must reconnect once the listener is back")
        connector.stop()
        listener.close()
    }

    @Test func connectToAClosedPortThrows() async throws {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let probe = try Listener(loop: loop, host: "127.0.0.1", port: 0) { _ in ConnectionHandlers(onMessage: { _, _ in }) }
        let port = probe.port
        probe.close()
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: UVError.self) {
            _ = try await loop.connect(host: "127.0.0.1", port: port) { _ in ConnectionHandlers(onMessage: { _, _ in }) }
        }
    }

    @Test func backoffGrowsExponentiallyWithEqualJitterUpToTheCap() {
        let backoff = ReconnectBackoff(initialMs: 100, maximumMs: 1000, multiplier: 2)
        #expect((0..<6).map { backoff.nominalDelayMs(attempt: $0) } == [100, 200, 400, 800, 1000, 1000])
        var random = SystemRandomNumberGenerator()
        var delays: Set<Double> = []
        for _ in 0..<200 {
            let d = backoff.delayMs(attempt: 2, using: &random)
            #expect(d >= 200 && d <= 400)
            delays.insert(d)
        }
        #expect(delays.count > 100, "jitter must spread the delays")
    }
}
