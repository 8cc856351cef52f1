import Foundation

/// The results of a load test (one step, or one per load of a sweep) and how they are shown:
/// a terminal table, and under `--out DIR` `summary.json`, `requests.csv` and SVG plots.
package struct LoadReport: Sendable {
    package struct Step: Sendable {
        package var summary: LoadSummary
        package var records: [RequestRecord]
        package init(summary: LoadSummary, records: [RequestRecord]) {
            self.summary = summary
            self.records = records
        }
    }

    package var parameters: LoadParameters
    package var steps: [Step]

    package init(parameters: LoadParameters, steps: [Step]) {
        self.parameters = parameters
        self.steps = steps
    }

    /// `summary.json`'s content: the run's parameters and each step's summary.
    package var json: String {
        get throws {
            struct Summary: Encodable {
                let parameters: LoadParameters
                let steps: [LoadSummary]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(Summary(parameters: parameters, steps: steps.map(\.summary))), as: UTF8.self)
        }
    }

    // MARK: Terminal

    package var table: String {
        var out = ""
        for step in steps {
            let s = step.summary
            out += "== \(s.arrival): \(s.sent) sent, \(s.ok) ok, \(s.errors.values.reduce(0, +)) errors"
            if !s.errors.isEmpty { out += " (" + s.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")" }
            out += String(format: " in %.1f s\n", s.durationSeconds)
            out += String(format: "throughput %.2f req/s, %.1f output tokens/s, %.1f input tokens/s; goodput %.2f req/s\n",
                          s.requestsPerSecond, s.outputTokensPerSecond, s.inputTokensPerSecond, s.goodputRequestsPerSecond)
            out += "latency (ms)            mean      p50      p90      p99    p99.9      max\n"
            for (name, l) in [("time to first token", s.timeToFirstTokenMs), ("inter-token", s.interTokenLatencyMs),
                              ("time per output token", s.timePerOutputTokenMs), ("end to end", s.endToEndMs)] {
                out += name.padding(toLength: 22, withPad: " ", startingAt: 0)
                out += [l.mean, l.p50, l.p90, l.p99, l.p999, l.max].map { String(format: "%9.1f", $0) }.joined() + "\n"
            }
            let sp = s.speculative
            out += String(format: "speculative: %.2f tokens per target pass, %d rounds, %d drafts, %d accepted draft tokens\n",
                          sp.tokensPerTargetPass, sp.rounds, sp.draftsSent, sp.acceptedDraftTokens)
            if !sp.acceptanceByPosition.isEmpty {
                out += "acceptance by position: " + sp.acceptanceByPosition.map { String(format: "%.2f", $0) }.joined(separator: " ") + "\n"
            }
        }
        return out
    }

    // MARK: Files

    /// Writes `summary.json`, `requests.csv` and the plots into `directory` (created if needed).
    package func write(to directory: String) throws {
        let url = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: url.appendingPathComponent("summary.json"))
        try Data(csv.utf8).write(to: url.appendingPathComponent("requests.csv"))
        for (name, chart) in charts {
            try Data(chart.render().utf8).write(to: url.appendingPathComponent(name))
        }
    }

    package var csv: String {
        var out = "step,offered_load,request,start_s,prompt_tokens,output_tokens,ttft_ms,tpot_ms,e2e_ms,rounds,target_passes,drafts_sent,accepted_draft_tokens,error\n"
        func ms(_ s: Double?) -> String { s.map { String(format: "%.3f", $0 * 1000) } ?? "" }
        for (i, step) in steps.enumerated() {
            for r in step.records {
                out += "\(i),\(step.summary.offeredLoad),\(r.index),\(String(format: "%.4f", r.startSeconds)),\(r.promptTokens),\(r.outputTokens),"
                out += "\(ms(r.ttftSeconds)),\(ms(r.timePerOutputTokenSeconds)),\(ms(r.endToEndSeconds)),\(r.rounds),\(r.targetPasses),"
                out += "\(r.draftsSent),\(r.acceptedDraftTokens),\(r.error ?? "")\n"
            }
        }
        return out
    }

    /// Latency CDFs of the last step (one line per step for end-to-end), and for a sweep
    /// throughput and p99 latency against offered load.
    package var charts: [(String, SVGChart)] {
        var result: [(String, SVGChart)] = []
        let latencies: [(String, String, (RequestRecord) -> [Double])] = [
            ("ttft_cdf.svg", "Time to first token", { $0.ttftSeconds.map { [$0] } ?? [] }),
            ("itl_cdf.svg", "Inter-token latency", { $0.interTokenSeconds }),
            ("e2e_cdf.svg", "End-to-end latency", { $0.endToEndSeconds.map { [$0] } ?? [] }),
        ]
        for (file, title, values) in latencies {
            var chart = SVGChart(title: "\(title): CDF", xLabel: "milliseconds (log scale)", yLabel: "fraction of samples ≤ x", logX: true)
            for step in steps {
                let sorted = step.records.filter(\.succeeded).flatMap(values).map { $0 * 1000 }.sorted()
                guard !sorted.isEmpty else { continue }
                let stride = max(1, sorted.count / 400)
                var points = Swift.stride(from: 0, to: sorted.count, by: stride).map { (x: max(sorted[$0], 1e-3), y: Double($0 + 1) / Double(sorted.count)) }
                points.append((x: max(sorted.last!, 1e-3), y: 1))
                chart.series.append(.init(name: step.summary.arrival, points: points))
            }
            result.append((file, chart))
        }
        if steps.count > 1 {
            let x = steps[0].summary.arrival.hasPrefix("closed") ? "concurrent clients" : "offered load, requests/s"
            var throughput = SVGChart(title: "Throughput against offered load", xLabel: x, yLabel: "completed requests/s")
            throughput.series = [.init(name: "throughput", points: steps.map { ($0.summary.offeredLoad, $0.summary.requestsPerSecond) }),
                                 .init(name: "goodput", points: steps.map { ($0.summary.offeredLoad, $0.summary.goodputRequestsPerSecond) })]
            var p99 = SVGChart(title: "p99 latency against offered load", xLabel: x, yLabel: "milliseconds")
            p99.series = [.init(name: "end to end", points: steps.map { ($0.summary.offeredLoad, $0.summary.endToEndMs.p99) }),
                          .init(name: "first token", points: steps.map { ($0.summary.offeredLoad, $0.summary.timeToFirstTokenMs.p99) })]
            result += [("throughput_vs_load.svg", throughput), ("p99_vs_load.svg", p99)]
        }
        return result
    }
}
