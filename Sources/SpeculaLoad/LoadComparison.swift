import Foundation

/// Speculation against plain decoding, load by load: the same requests sent with drafts and with
/// `--no-draft`, the two sides alternating at each load of a sweep so that a drift in the
/// machine's speed falls on both (`loadtest --against-no-draft`). Ratios are drafts / plain:
/// above 1 for throughput, below 1 for time per output token, mean speculation pays.
package struct LoadComparison: Sendable {
    package let drafts: LoadReport
    package let plain: LoadReport

    /// One load's two sides.
    package struct Row: Encodable, Sendable {
        package let arrival: String
        package let offeredLoad: Double
        package let draftsOutputTokensPerSecond: Double
        package let plainOutputTokensPerSecond: Double
        /// drafts / plain output tokens per second.
        package let throughputRatio: Double
        package let draftsP99TimePerOutputTokenMs: Double
        package let plainP99TimePerOutputTokenMs: Double
        /// drafts / plain p99 time per output token.
        package let p99TimePerOutputTokenRatio: Double
    }

    /// `drafts` and `plain` ran the same loads in the same order.
    package init(drafts: LoadReport, plain: LoadReport) {
        precondition(drafts.steps.map(\.summary.arrival) == plain.steps.map(\.summary.arrival), "the two sides ran different loads")
        self.drafts = drafts
        self.plain = plain
    }

    package var rows: [Row] {
        zip(drafts.steps.map(\.summary), plain.steps.map(\.summary)).map { d, p in
            Row(arrival: d.arrival, offeredLoad: d.offeredLoad,
                draftsOutputTokensPerSecond: d.outputTokensPerSecond, plainOutputTokensPerSecond: p.outputTokensPerSecond,
                throughputRatio: d.outputTokensPerSecond / max(p.outputTokensPerSecond, 1e-9),
                draftsP99TimePerOutputTokenMs: d.timePerOutputTokenMs.p99, plainP99TimePerOutputTokenMs: p.timePerOutputTokenMs.p99,
                p99TimePerOutputTokenRatio: d.timePerOutputTokenMs.p99 / max(p.timePerOutputTokenMs.p99, 1e-9))
        }
    }

    /// `comparison.json`'s content: the parameters of the drafts side and each load's row.
    package var json: String {
        get throws {
            struct Comparison: Encodable {
                let parameters: LoadParameters
                let loads: [Row]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(Comparison(parameters: drafts.parameters, loads: rows)), as: UTF8.self)
        }
    }

    package var table: String {
        var out = "== drafts against --no-draft (ratios drafts / plain)\n"
        out += "load                          tokens/s drafts    plain   ratio   p99 TPOT ms drafts    plain   ratio\n"
        for row in rows {
            out += row.arrival.padding(toLength: 28, withPad: " ", startingAt: 0)
            out += String(format: "%17.1f %8.1f %6.2f× %20.1f %8.1f %6.2f×\n", row.draftsOutputTokensPerSecond, row.plainOutputTokensPerSecond,
                          row.throughputRatio, row.draftsP99TimePerOutputTokenMs, row.plainP99TimePerOutputTokenMs, row.p99TimePerOutputTokenRatio)
        }
        return out
    }

    /// Output tokens per second and p99 time per output token against load, one line per side.
    package var charts: [(String, SVGChart)] {
        let closed = drafts.steps.first?.summary.arrival.hasPrefix("closed") ?? true
        let x = closed ? "concurrent clients" : "offered load, requests/s"
        var throughput = SVGChart(title: "Output tokens per second: drafts against --no-draft", xLabel: x, yLabel: "output tokens/s")
        var tpot = SVGChart(title: "p99 time per output token: drafts against --no-draft", xLabel: x, yLabel: "milliseconds")
        for (name, report) in [("drafts", drafts), ("no draft", plain)] {
            let summaries = report.steps.map(\.summary)
            throughput.series.append(.init(name: name, points: summaries.map { ($0.offeredLoad, $0.outputTokensPerSecond) }))
            tpot.series.append(.init(name: name, points: summaries.map { ($0.offeredLoad, $0.timePerOutputTokenMs.p99) }))
        }
        return [("tokens_per_second_vs_load.svg", throughput), ("p99_tpot_vs_load.svg", tpot)]
    }

    /// Writes each side's report under `drafts/` and `no-draft/`, and `comparison.json` and the
    /// two sides' plots into `directory`.
    package func write(to directory: String) throws {
        try drafts.write(to: directory + "/drafts")
        try plain.write(to: directory + "/no-draft")
        let url = URL(fileURLWithPath: directory)
        try Data(json.utf8).write(to: url.appendingPathComponent("comparison.json"))
        for (name, chart) in charts {
            try Data(chart.render().utf8).write(to: url.appendingPathComponent(name))
        }
    }
}
