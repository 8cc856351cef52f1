import Histogram

/// The aggregate of one load-test step: counts that add up (`sent = ok + Σ errors`), throughput,
/// goodput, latency percentiles from HDR histograms (microsecond resolution, 3 significant
/// digits), and the speculative metrics.
package struct LoadSummary: Codable, Sendable {
    /// Percentiles of one latency, in milliseconds.
    package struct Latency: Codable, Sendable {
        package var samples: UInt64
        package var mean: Double
        package var p50: Double
        package var p90: Double
        package var p99: Double
        package var p999: Double
        package var max: Double
    }

    package struct Speculative: Codable, Sendable {
        package var rounds: Int
        package var targetPasses: Int
        package var draftsSent: Int
        package var acceptedDraftTokens: Int
        /// Output tokens per target pass (1 with no drafts).
        package var tokensPerTargetPass: Double
        /// P(a round accepted at least i draft tokens | its block reached position i), i = 1…γ.
        package var acceptanceByPosition: [Double]
    }

    package var arrival: String
    package var offeredLoad: Double
    package var durationSeconds: Double
    package var sent: Int
    package var ok: Int
    package var errors: [String: Int]
    package var requestsPerSecond: Double
    package var outputTokensPerSecond: Double
    /// Prompt tokens of the completed requests per second.
    package var inputTokensPerSecond: Double
    package var goodputRequestsPerSecond: Double
    package var slo: ServiceLevelObjectives
    package var timeToFirstTokenMs: Latency
    package var interTokenLatencyMs: Latency
    package var timePerOutputTokenMs: Latency
    package var endToEndMs: Latency
    package var speculative: Speculative

    package init(records: [RequestRecord], seconds: Double, arrival: ArrivalProcess, slo: ServiceLevelObjectives) {
        let done = records.filter(\.succeeded)
        self.arrival = arrival.description
        offeredLoad = arrival.offeredLoad
        durationSeconds = seconds
        sent = records.count
        ok = done.count
        errors = Dictionary(grouping: records.compactMap(\.error), by: { $0 }).mapValues(\.count)
        let span = max(seconds, 1e-9)
        requestsPerSecond = Double(ok) / span
        let tokens = done.reduce(0) { $0 + $1.outputTokens }
        outputTokensPerSecond = Double(tokens) / span
        inputTokensPerSecond = Double(done.reduce(0) { $0 + $1.promptTokens }) / span
        goodputRequestsPerSecond = Double(done.filter { slo.isMet(by: $0) }.count) / span
        self.slo = slo
        timeToFirstTokenMs = Self.latency(done.compactMap(\.ttftSeconds))
        interTokenLatencyMs = Self.latency(done.flatMap(\.interTokenSeconds))
        timePerOutputTokenMs = Self.latency(done.compactMap(\.timePerOutputTokenSeconds))
        endToEndMs = Self.latency(done.compactMap(\.endToEndSeconds))
        let passes = done.reduce(0) { $0 + $1.targetPasses }
        let depth = done.map(\.positionsTried.count).max() ?? 0
        var tried = [Int](repeating: 0, count: depth), accepted = [Int](repeating: 0, count: depth)
        for r in done {
            for i in r.positionsTried.indices {
                tried[i] += r.positionsTried[i]
                accepted[i] += r.positionsAccepted[i]
            }
        }
        speculative = Speculative(
            rounds: done.reduce(0) { $0 + $1.rounds }, targetPasses: passes,
            draftsSent: done.reduce(0) { $0 + $1.draftsSent },
            acceptedDraftTokens: done.reduce(0) { $0 + $1.acceptedDraftTokens },
            tokensPerTargetPass: passes > 0 ? Double(tokens) / Double(passes) : 0,
            acceptanceByPosition: zip(accepted, tried).map { $1 > 0 ? Double($0) / Double($1) : 0 })
    }

    /// Percentiles of `seconds` through an HDR histogram of microseconds.
    static func latency(_ seconds: [Double]) -> Latency {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for s in seconds { _ = histogram.record(UInt64(max(0, min(s * 1e6, 3.6e9)).rounded())) }
        guard histogram.totalCount > 0 else { return Latency(samples: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0) }
        let ms = { (percentile: Double) in Double(histogram.valueAtPercentile(percentile)) / 1000 }
        return Latency(samples: histogram.totalCount, mean: histogram.mean / 1000, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9),
                       max: Double(histogram.max) / 1000)
    }
}
