import SpeculaNet

/// What one simulated request measured, from send to `Done` (or its error).
///
/// Definitions: time to first token (TTFT) = send → first chunk with a token; end-to-end = send →
/// `Done`; time per output token (TPOT) = (end-to-end − TTFT) / (output tokens − 1); inter-token
/// latency (ITL) = the gap between two chunks with output, one sample per chunk after the first,
/// as vLLM's `benchmark_serving` counts it (a speculative pass delivers several tokens in one
/// chunk: TPOT is the per-token figure, ITL what a reader of the stream waits between updates).
package struct RequestRecord: Sendable {
    package var index: Int
    /// Seconds from the test's start to the send.
    package var startSeconds: Double
    package var promptTokens = 0
    package var outputTokens = 0
    package var ttftSeconds: Double?
    package var endToEndSeconds: Double?
    package var interTokenSeconds: [Double] = []
    package var rounds = 0
    package var targetPasses = 0
    package var acceptedDraftTokens = 0
    /// Σ drafts over the request's rounds.
    package var draftsSent = 0
    /// Rounds whose block reached position i (index i−1), and those that accepted through it.
    package var positionsTried: [Int] = []
    package var positionsAccepted: [Int] = []
    /// Why it failed (`LoadErrorKind.rawValue`), nil when it completed.
    package var error: String?

    package init(index: Int, startSeconds: Double) {
        self.index = index
        self.startSeconds = startSeconds
    }

    package var succeeded: Bool { error == nil }

    package var timePerOutputTokenSeconds: Double? {
        guard let ttft = ttftSeconds, let e2e = endToEndSeconds, outputTokens > 1 else { return nil }
        return (e2e - ttft) / Double(outputTokens - 1)
    }

    /// Records a chunk with output that arrived `elapsed` seconds after the send,
    /// `sincePrevious` after the previous chunk with output.
    mutating func observe(passes: [PassStats], elapsed: Double, sincePrevious: Double?) {
        if ttftSeconds == nil {
            ttftSeconds = elapsed
        } else if let gap = sincePrevious {
            interTokenSeconds.append(gap)
        }
        for stats in passes {
            draftsSent += Int(stats.drafts)
            let block = Int(stats.depth)
            guard stats.drafts > 0, block > 0 else { continue }
            if positionsTried.count < block {
                positionsTried += Array(repeating: 0, count: block - positionsTried.count)
                positionsAccepted += Array(repeating: 0, count: block - positionsAccepted.count)
            }
            for i in 0..<block {
                positionsTried[i] += 1
                if Int(stats.accepted) > i { positionsAccepted[i] += 1 }
            }
        }
    }

    mutating func finish(_ completion: LoadCompletion, elapsed: Double) {
        endToEndSeconds = elapsed
        promptTokens = completion.promptTokens
        outputTokens = completion.outputTokens
        rounds = completion.rounds
        targetPasses = completion.targetPasses
        acceptedDraftTokens = completion.acceptedDraftTokens
    }
}

/// How a simulated request can fail.
package enum LoadErrorKind: String, Sendable, CaseIterable {
    /// The server answered the request with an error.
    case serverError = "server_error"
    /// The server refused the request for lack of capacity (native `unavailable`, HTTP 429/503).
    case refused
    /// The connection closed under the request.
    case connectionLost = "connection_lost"
    /// No `Done` within the request timeout.
    case timeout
    /// The stream ended without `Done`.
    case incomplete
}
