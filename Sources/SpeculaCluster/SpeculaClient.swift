import Foundation
import Synchronization
package import SpeculaNet

/// The client library: one connection to a coordinator, many concurrent generations on it.
///
/// `generate` returns a stream of `GenerationEvent`s (token chunks as they are produced, then
/// `done`); a coordinator error for the request or a lost connection ends the stream with an
/// error. Thread-safe.
package final class SpeculaClient: Sendable {
    /// One event of a generation.
    package enum GenerationEvent: Sendable {
        case chunk(TokenChunk)
        case done(Done)
    }

    /// Why a generation or the connection failed.
    package enum ClientError: Error, CustomStringConvertible {
        case refused(String)
        case coordinator(ErrorMessage)
        case connectionLost(String)

        package var description: String {
            switch self {
            case .refused(let why): "the coordinator refused this client: \(why)"
            case .coordinator(let error): "the coordinator reported an error: \(error.message)"
            case .connectionLost(let why): "lost the connection to the coordinator: \(why)"
            }
        }
    }

    private struct State {
        var streams: [UInt64: AsyncThrowingStream<GenerationEvent, Error>.Continuation] = [:]
        var greeting: CheckedContinuation<Void, Error>?
        var closedReason: String?
        var nextID: UInt64 = 1
        var coordinator = HelloAck()
        /// The HelloAck came (with a secret it may come before `connect` waits for it).
        var acknowledged = false
    }

    private let state = Mutex(State())
    private let connectionBox = Mutex<Connection?>(nil)

    private init() {}

    /// What the coordinator said of itself at Hello (model and tokenizer fingerprints, vocabulary
    /// size, whether it takes text prompts).
    package var coordinator: HelloAck { state.withLock { $0.coordinator } }

    /// Connects, says Hello and waits for the coordinator's HelloAck.
    package static func connect(loop: EventLoop, host: String, port: Int, authSecret: String? = nil) async throws -> SpeculaClient {
        let client = SpeculaClient()
        var hello = Hello()
        hello.role = .client
        hello.nodeID = "client"
        let greeting = HelloSender(hello, secret: authSecret)
        let connection = try await loop.connect(host: host, port: port) { _ in
            ConnectionHandlers(
                onMessage: { connection, message in
                    if case .challenge(let challenge) = message { return greeting.answer(challenge, on: connection) }
                    client.receive(message)
                },
                onClose: { _, reason in client.lost(reason.description) })
        }
        client.connectionBox.withLock { $0 = connection }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let early = client.state.withLock { s -> Result<Void, ClientError>? in
                if s.acknowledged { return s.coordinator.accepted ? .success(()) : .failure(.refused(s.coordinator.reason)) }
                if let reason = s.closedReason { return .failure(.connectionLost(reason)) }
                s.greeting = continuation
                return nil
            }
            if let early { return continuation.resume(with: early) }
            greeting.opened(connection)
        }
        return client
    }

    /// Starts a generation (its `requestID` is assigned here) and streams its events.
    package func generate(_ request: GenerateRequest) -> AsyncThrowingStream<GenerationEvent, Error> {
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, Error>.makeStream()
        var request = request
        let lost = state.withLock { s -> String? in
            if let reason = s.closedReason { return reason }
            request.requestID = s.nextID
            s.nextID += 1
            s.streams[request.requestID] = continuation
            return nil
        }
        if let lost {
            continuation.finish(throwing: ClientError.connectionLost(lost))
            return stream
        }
        let connection = connectionBox.withLock { $0 }
        let id = request.requestID
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { connection?.send(.cancel(Cancel(requestID: id, reason: "client cancelled"))) }
            _ = self?.state.withLock { $0.streams.removeValue(forKey: id) }
        }
        connection?.send(.generate(request))
        return stream
    }

    package func close() {
        connectionBox.withLock { $0 }?.close(reason: "client closed")
    }

    private func receive(_ message: Message) {
        switch message {
        case .helloAck(let ack):
            let greeting = state.withLock { s in
                defer { s.greeting = nil }
                s.coordinator = ack
                s.acknowledged = true
                return s.greeting
            }
            if ack.accepted { greeting?.resume() } else { greeting?.resume(throwing: ClientError.refused(ack.reason)) }
        case .tokenChunk(let chunk):
            _ = state.withLock { $0.streams[chunk.requestID] }?.yield(.chunk(chunk))
        case .done(let done):
            let stream = state.withLock { $0.streams.removeValue(forKey: done.requestID) }
            stream?.yield(.done(done))
            stream?.finish()
        case .error(let error):
            if error.requestID != 0 {
                state.withLock { $0.streams.removeValue(forKey: error.requestID) }?.finish(throwing: ClientError.coordinator(error))
            } else {
                lost(error.message)
            }
        default:
            break
        }
    }

    private func lost(_ reason: String) {
        let (streams, greeting) = state.withLock { s in
            s.closedReason = s.closedReason ?? reason
            defer { s.streams.removeAll(); s.greeting = nil }
            return (Array(s.streams.values), s.greeting)
        }
        greeting?.resume(throwing: ClientError.connectionLost(reason))
        for stream in streams { stream.finish(throwing: ClientError.connectionLost(reason)) }
    }
}
