/// How a load test loads its server: arrivals, how much, which prompts, and the SLOs. Where the
/// requests go and how each is sent (sampling, verifier, K, γ) is the `LoadBackend`'s part.
package struct LoadTestConfiguration: Sendable {
    package var arrival = ArrivalProcess.closed(concurrency: 8)
    /// Stop issuing after this many requests (nil: no bound).
    package var requests: Int?
    /// Stop issuing after this many seconds (nil: no bound).
    package var durationSeconds: Double?
    /// Closed loop: clients start evenly over this time; open loop: the rate rises linearly to
    /// its target over it.
    package var rampUpSeconds = 0.0
    package var prompts: PromptSource
    package var seed: UInt64 = 1
    package var requestTimeoutSeconds = 300.0
    package var slo = ServiceLevelObjectives()

    package init(prompts: PromptSource) { self.prompts = prompts }
}

/// Latency targets a request must meet to count toward goodput (nil: no target).
package struct ServiceLevelObjectives: Sendable, Codable, Equatable {
    package var ttftMilliseconds: Double?
    package var tpotMilliseconds: Double?
    package var endToEndMilliseconds: Double?

    package init() {}

    /// Whether a completed request meets every target.
    package func isMet(by record: RequestRecord) -> Bool {
        guard record.succeeded else { return false }
        if let limit = ttftMilliseconds, (record.ttftSeconds ?? .infinity) * 1000 > limit { return false }
        if let limit = tpotMilliseconds, let tpot = record.timePerOutputTokenSeconds, tpot * 1000 > limit { return false }
        if let limit = endToEndMilliseconds, (record.endToEndSeconds ?? .infinity) * 1000 > limit { return false }
        return true
    }
}
