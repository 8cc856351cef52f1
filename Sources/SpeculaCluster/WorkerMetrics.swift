package import SpeculaNet

/// A draft worker's Prometheus metrics: names, help texts and types in one place.
package enum WorkerMetrics {
    static let connected = "specula_worker_connected"
    static let requests = "specula_worker_requests"
    static let rounds = "specula_worker_rounds_total"
    static let tokens = "specula_worker_draft_tokens_total"
    static let draftSeconds = "specula_worker_draft_seconds"
    static let staleSkipped = "specula_worker_stale_rounds_skipped_total"

    /// Declares every worker metric in `registry`.
    package static func declare(in registry: MetricsRegistry) {
        registry.declare(connected, .gauge, help: "Workers of this process joined to a coordinator.")
        registry.declare(requests, .gauge, help: "Requests whose context a worker holds, by worker.")
        registry.declare(rounds, .counter, help: "Rounds of drafts begun (one per Speculate).")
        registry.declare(tokens, .counter, help: "Draft tokens sent.")
        registry.declare(draftSeconds, .histogram, help: "Time of one drafting step (a token for every growing draft of a request).")
        registry.declare(staleSkipped, .counter, help: "Speculate requests skipped because a newer round of the same request had arrived.")
    }
}
