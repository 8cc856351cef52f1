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
    static let poolPasses = "specula_pool_passes_total"
    static let poolCoveredTokens = "specula_pool_covered_tokens_total"
    static let workerViolations = "specula_worker_violations_total"
    static let draftTokensPastLookahead = "specula_draft_tokens_past_lookahead_total"
    static let audits = "specula_audits_total"
    static let workersQuarantined = "specula_workers_quarantined_total"
    static let draftTokensDeferred = "specula_draft_tokens_deferred_total"
    static let requestsRunning = "specula_requests_running"
    static let requestsWaiting = "specula_requests_waiting"
    static let requestsDrafting = "specula_requests_drafting"
    static let draftSupplyLimit = "specula_draft_supply_limit"
    static let draftingOn = "specula_drafting_on"
    static let draftingModeChanges = "specula_drafting_mode_changes_total"
    static let requestsPreempted = "specula_requests_preempted_total"
    static let kvCacheBytesInUse = "specula_kv_cache_bytes_in_use"
    static let kvCacheBudgetBytes = "specula_kv_cache_budget_bytes"
    static let timeToFirstTokenSeconds = "specula_time_to_first_token_seconds"
    static let interTokenSeconds = "specula_inter_token_latency_seconds"
    static let requestSeconds = "specula_e2e_request_latency_seconds"
    static let promptTokens = "specula_request_prompt_tokens"
    // The speculative counters under vLLM's names (`vllm:spec_decode_*`), for existing dashboards.
    static let specDecodeDrafts = "specula_spec_decode_num_drafts_total"
    static let specDecodeDraftTokens = "specula_spec_decode_num_draft_tokens_total"
    static let specDecodeAcceptedTokens = "specula_spec_decode_num_accepted_tokens_total"
    static let specDecodeAcceptedPerPosition = "specula_spec_decode_num_accepted_tokens_per_pos_total"

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
        registry.declare(poolPasses, .counter, help: "Target passes a draft pool's drafts served, by draft-model fingerprint.")
        registry.declare(poolCoveredTokens, .counter,
                         help: "Accepted tokens a draft pool's drafts covered (its drafts went through them), by draft-model fingerprint.")
        registry.declare(workerViolations, .counter,
                         help: "Draft tokens that failed the coordinator's checks (a token its row and stream do not produce, past the lookahead, malformed).")
        registry.declare(audits, .counter, help: "Draft audits, by outcome (started, disputed, outvoted, inconclusive).")
        registry.declare(workersQuarantined, .counter, help: "Workers disconnected and refused for good after an audit outvoted them.")
        registry.declare(draftTokensPastLookahead, .counter, help: "Draft tokens dropped for lying past the lookahead the worker was asked for.")
        registry.declare(draftTokensDeferred, .counter,
                         help: "Draft tokens that had arrived but the batch plan left out of a pass, not paying for the longer pass.")
        registry.declare(requestsRunning, .gauge, help: "Requests admitted and being generated (at most --max-requests).")
        registry.declare(requestsWaiting, .gauge, help: "Requests waiting for admission (at most --max-queue).")
        registry.declare(requestsDrafting, .gauge, help: "Running requests with drafts in progress.")
        registry.declare(draftSupplyLimit, .gauge,
                         help: "Drafts the draft pool keeps ahead of the target at once, as learnt (0: no limit met yet).")
        registry.declare(draftingOn, .gauge,
                         help: "1 while drafting measured faster than plain batching at the current load (DraftingPayoff), 0 while not.")
        registry.declare(draftingModeChanges, .counter, help: "Changes between drafting and plain batching, by the mode taken (DraftingPayoff).")
        registry.declare(requestsPreempted, .counter, help: "Running requests preempted (KV cache freed, context read again later) to fit the KV-cache budget.")
        registry.declare(kvCacheBytesInUse, .gauge, help: "KV-cache bytes the running requests' contexts hold, in whole pages.")
        registry.declare(kvCacheBudgetBytes, .gauge, help: "The KV-cache budget (--kv-cache-bytes; 0: none, a model without a cache).")
        registry.declare(timeToFirstTokenSeconds, .histogram, help: "Time from a request's arrival to its first tokens.")
        registry.declare(interTokenSeconds, .histogram, help: "Time between two emissions of tokens to a request's client.")
        registry.declare(requestSeconds, .histogram, help: "Time from a request's arrival to its end (finished requests).")
        registry.declare(promptTokens, .histogram, help: "Prompt tokens of the requests started.",
                         buckets: [16, 64, 256, 1024, 4096, 16384, 65536])
        registry.declare(specDecodeDrafts, .counter, help: "Drafts scored by target passes (vLLM: spec_decode_num_drafts).")
        registry.declare(specDecodeDraftTokens, .counter, help: "Draft tokens scored by target passes (vLLM: spec_decode_num_draft_tokens).")
        registry.declare(specDecodeAcceptedTokens, .counter, help: "Draft tokens accepted (vLLM: spec_decode_num_accepted_tokens).")
        registry.declare(specDecodeAcceptedPerPosition, .counter,
                         help: "Draft tokens accepted at this 0-based position (vLLM: spec_decode_num_accepted_tokens_per_pos).")
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
