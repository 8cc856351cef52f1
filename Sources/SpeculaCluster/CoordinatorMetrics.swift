package import SpeculaNet

/// The coordinator's Prometheus metrics: names, help texts and types in one place.
package enum CoordinatorMetrics {
    static let requestsStarted = "specula_requests_started_total"
    static let requestsFinished = "specula_requests_finished_total"
    static let requestErrors = "specula_request_errors_total"
    static let requestsInFlight = "specula_requests_in_flight"
    static let passes = "specula_passes_total"
    static let decodedWhileDrafting = "specula_decoded_while_drafting_total"
    static let tokens = "specula_generated_tokens_total"
    static let acceptedDraftTokens = "specula_accepted_draft_tokens_total"
    static let acceptedAtPosition = "specula_accepted_tokens_at_position_total"
    static let passesReachingPosition = "specula_passes_reaching_position_total"
    static let verifierSeconds = "specula_verifier_seconds"
    static let targetPassSeconds = "specula_target_pass_seconds"
    static let targetPassRequests = "specula_target_pass_requests"
    static let targetPassTokens = "specula_target_pass_tokens"
    static let draftWaitSeconds = "specula_draft_wait_seconds"
    static let workers = "specula_workers"
    static let workerViolations = "specula_worker_violations_total"
    static let draftTokensPastLookahead = "specula_draft_tokens_past_lookahead_total"
    static let audits = "specula_audits_total"
    static let workersQuarantined = "specula_workers_quarantined_total"

    /// Declares every coordinator metric in `registry`.
    package static func declare(in registry: MetricsRegistry) {
        registry.declare(requestsStarted, .counter, help: "Generation requests accepted.")
        registry.declare(requestsFinished, .counter, help: "Generation requests finished, by reason (length, end_of_sequence, stop, cancelled).")
        registry.declare(requestErrors, .counter, help: "Requests refused or failed, by kind.")
        registry.declare(requestsInFlight, .gauge, help: "Requests being generated.")
        registry.declare(passes, .counter, help: "Request steps verified: one per request in each target pass (with draft tokens, or plain decoding).")
        registry.declare(decodedWhileDrafting, .counter, help: "Passes of a request's newest token alone while its drafts had no token past it yet.")
        registry.declare(tokens, .counter, help: "Tokens generated (sent to clients).")
        registry.declare(acceptedDraftTokens, .counter, help: "Draft tokens accepted by the verifier.")
        registry.declare(acceptedAtPosition, .counter, help: "Passes that accepted the draft token at this position of their tree.")
        registry.declare(passesReachingPosition, .counter, help: "Passes with draft tokens whose tree reached this position.")
        registry.declare(verifierSeconds, .histogram, help: "Time to verify one target pass's steps and act on them.")
        registry.declare(targetPassSeconds, .histogram, help: "Time of one batched target pass.")
        registry.declare(targetPassRequests, .histogram, help: "Requests scored by one target pass.", buckets: MetricsRegistry.countBuckets)
        registry.declare(targetPassTokens, .histogram, help: "Tree tokens scored by one target pass.", buckets: MetricsRegistry.countBuckets)
        registry.declare(draftWaitSeconds, .histogram, help: "Time a request waited for draft tokens before a pass.")
        registry.declare(workers, .gauge, help: "Connected draft workers, by draft-model fingerprint.")
        registry.declare(workerViolations, .counter,
                         help: "Draft tokens that failed the coordinator's checks (a token its row and stream do not produce, past the lookahead, malformed).")
        registry.declare(audits, .counter, help: "Draft audits, by outcome (started, disputed, outvoted, inconclusive).")
        registry.declare(workersQuarantined, .counter, help: "Workers disconnected and refused for good after an audit outvoted them.")
        registry.declare(draftTokensPastLookahead, .counter, help: "Draft tokens dropped for lying past the lookahead the worker was asked for.")
    }
}

extension FinishReason {
    /// The `reason` label of `specula_requests_finished_total`.
    var metricLabel: String {
        switch self {
        case .unspecified: "unspecified"
        case .length: "length"
        case .stop: "stop"
        case .endOfSequence: "end_of_sequence"
        case .cancelled: "cancelled"
        case .error: "error"
        }
    }
}
