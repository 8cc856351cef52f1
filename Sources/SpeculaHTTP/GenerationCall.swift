import SpeculaCluster
import SpeculaNet

/// One API request's generations (its choices) running on the coordinator through an
/// `InProcessClient`: their text as it streams, then how each ended. Ending the iteration early —
/// the HTTP client went away — closes the client, and the coordinator cancels what still runs.
struct GenerationCall: AsyncSequence, Sendable {
    enum Event: Sendable {
        case text(choice: Int, String)
        case finished(choice: Int, Done)
    }

    typealias Element = Event
    private let stream: AsyncThrowingStream<Event, any Error>

    init(_ generation: APIGeneration, on server: CoordinatorServer) {
        let client = server.attachClient()
        let requests = generation.requests
        stream = AsyncThrowingStream { continuation in
            let task = Task {
                for request in requests { client.submit(.generate(request)) }
                var running = requests.count
                for await message in client.messages {
                    switch message {
                    case .tokenChunk(let chunk):
                        if !chunk.text.isEmpty { continuation.yield(.text(choice: Int(chunk.requestID) - 1, chunk.text)) }
                    case .done(let done):
                        continuation.yield(.finished(choice: Int(done.requestID) - 1, done))
                        running -= 1
                        if running == 0 {
                            continuation.finish()
                            client.close()
                            return
                        }
                    case .error(let error):
                        continuation.finish(throwing: Self.translate(error))
                        client.close()
                        return
                    default:
                        break
                    }
                }
                continuation.finish(throwing: OpenAIError(.serviceUnavailable, "the coordinator stopped"))
            }
            continuation.onTermination = { _ in
                task.cancel()
                client.close()
            }
        }
    }

    func makeAsyncIterator() -> AsyncThrowingStream<Event, any Error>.AsyncIterator { stream.makeAsyncIterator() }

    /// The coordinator's refusal as the API's error: a request it cannot take is 429 or 503.
    private static func translate(_ error: ErrorMessage) -> OpenAIError {
        switch error.code {
        case .badRequest: OpenAIError(.badRequest, error.message)
        case .unavailable, .overloaded: OpenAIError(.tooManyRequests, error.message)
        default: OpenAIError(.serviceUnavailable, error.message)
        }
    }
}

extension GenerationCall {
    /// Waits for the first event, so that a refusal before any text (overloaded: 429) is the
    /// response's status rather than an event inside a 200 stream; a request that waits for
    /// admission waits here. Then streams the rest.
    func start() async throws -> StartedCall {
        var iterator = makeAsyncIterator()
        let first = try await iterator.next()
        return StartedCall(first: first, rest: iterator)
    }
}

/// A call whose first event has come. Used by one task at a time — the route that started it,
/// then the response body it hands it to — which is why it may cross that one boundary.
final class StartedCall: @unchecked Sendable {
    private var first: GenerationCall.Event?
    private var rest: AsyncThrowingStream<GenerationCall.Event, any Error>.AsyncIterator

    init(first: GenerationCall.Event?, rest: AsyncThrowingStream<GenerationCall.Event, any Error>.AsyncIterator) {
        self.first = first
        self.rest = rest
    }

    func next() async throws -> GenerationCall.Event? {
        if let event = first {
            first = nil
            return event
        }
        return try await rest.next()
    }
}
