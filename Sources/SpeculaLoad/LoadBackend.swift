package import SpeculaNet

/// A server a load test drives: Specula's native protocol (`NativeBackend`) or any
/// OpenAI-compatible HTTP API (`OpenAIBackend`). The runner only sends requests and times what
/// comes back, so the same arrival processes, metrics and reports serve every kind of server.
package protocol LoadBackend: Sendable {
    /// Streams one request: chunks as they arrive, then `.done`. Ending the iteration early
    /// (the request timed out) cancels the request on the server.
    func generate(_ request: LoadRequest) -> AsyncThrowingStream<LoadEvent, any Error>
    /// Closes every connection; no request may be sent after.
    func close() async
}

/// One request as the runner builds it: text, length and seed; the backend adds the rest
/// (sampling, verifier, K, γ) from its own template.
package struct LoadRequest: Sendable {
    /// Its place in the test's sequence (0, 1, …).
    package var index: Int
    package var prompt: String
    package var maxTokens: Int
    package var seed: UInt64
}

/// What a backend reports while a request streams.
package enum LoadEvent: Sendable {
    /// A chunk with output: how many tokens it carried, and the target passes behind them where
    /// the server says (the native protocol does; an HTTP API does not).
    case chunk(tokens: Int, passes: [PassStats])
    /// The request ended normally.
    case done(LoadCompletion)
}

/// A finished request's counts, as the server reported them.
package struct LoadCompletion: Sendable {
    package var promptTokens = 0
    package var outputTokens = 0
    package var rounds = 0
    package var targetPasses = 0
    package var acceptedDraftTokens = 0
}

/// Why a backend could not complete a request; the runner counts each as a `LoadErrorKind`.
package enum LoadBackendError: Error, CustomStringConvertible {
    /// The server refused the request for lack of capacity (native `unavailable`, HTTP 429/503).
    case refused(String)
    /// The server answered with an error for this request.
    case server(String)
    /// The connection closed or failed under the request.
    case connectionLost(String)

    package var description: String {
        switch self {
        case .refused(let why): "refused: \(why)"
        case .server(let why): "server error: \(why)"
        case .connectionLost(let why): "connection lost: \(why)"
        }
    }
}
