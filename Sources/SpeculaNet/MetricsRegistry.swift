import Foundation
import Synchronization

/// Counters, gauges and histograms, rendered in the Prometheus text exposition format (0.0.4)
/// for `MetricsEndpoint`. Thread-safe: the coordinator's actor, its scoring queue and the event
/// loop all record into one registry.
///
/// A metric is named once with its help text and type; label sets create its series on first use.
package final class MetricsRegistry: Sendable {
    package enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    private struct Series {
        var value = 0.0
        var bucketCounts: [UInt64] = []
        var count: UInt64 = 0
    }

    private struct Family {
        let help: String
        let kind: Kind
        let buckets: [Double]
        var series: [String: Series] = [:]
    }

    private let families = Mutex<[String: Family]>([:])

    /// Stale frames (drafts, heartbeats) dropped from full write queues, on any connection.
    package static let droppedFrames = "specula_dropped_frames_total"

    package init() {
        declare(Self.droppedFrames, .counter, help: "Stale frames (drafts, heartbeats) dropped because a peer's write queue was full.")
    }

    /// Latency buckets in seconds, 100 µs to 10 s.
    package static let secondsBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]
    /// Count buckets (batch sizes, tokens per pass).
    package static let countBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]

    /// Declares a metric (idempotent).
    package func declare(_ name: String, _ kind: Kind, help: String, buckets: [Double] = MetricsRegistry.secondsBuckets) {
        families.withLock { f in
            if f[name] == nil { f[name] = Family(help: help, kind: kind, buckets: kind == .histogram ? buckets : []) }
        }
    }

    /// Adds `amount` to a counter (or gauge).
    package func add(_ name: String, _ amount: Double = 1, labels: [String: String] = [:]) {
        update(name, labels) { series, _ in series.value += amount }
    }

    /// Sets a gauge.
    package func set(_ name: String, _ value: Double, labels: [String: String] = [:]) {
        update(name, labels) { series, _ in series.value = value }
    }

    /// Records one observation in a histogram.
    package func observe(_ name: String, _ value: Double, labels: [String: String] = [:]) {
        update(name, labels) { series, buckets in
            if series.bucketCounts.isEmpty { series.bucketCounts = Array(repeating: 0, count: buckets.count) }
            for (i, bound) in buckets.enumerated() where value <= bound { series.bucketCounts[i] += 1 }
            series.count += 1
            series.value += value
        }
    }

    private func update(_ name: String, _ labels: [String: String], _ body: (inout Series, [Double]) -> Void) {
        let key = Self.labelText(labels)
        families.withLock { f in
            guard var family = f[name] else { preconditionFailure("metric \(name) used before it was declared") }
            body(&family.series[key, default: Series()], family.buckets)
            f[name] = family
        }
    }

    /// The whole registry in the text exposition format.
    package func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for name in snapshot.keys.sorted() {
            let family = snapshot[name]!
            out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.kind.rawValue)\n"
            let series = family.series.isEmpty && family.kind != .histogram ? ["": Series()] : family.series
            for key in series.keys.sorted() {
                let s = series[key]!
                switch family.kind {
                case .counter, .gauge:
                    out += "\(name)\(Self.braced(key)) \(Self.number(s.value))\n"
                case .histogram:
                    for (i, bound) in family.buckets.enumerated() {
                        out += "\(name)_bucket\(Self.braced(Self.join(key, "le=\"\(Self.number(bound))\""))) \(s.bucketCounts.isEmpty ? 0 : s.bucketCounts[i])\n"
                    }
                    out += "\(name)_bucket\(Self.braced(Self.join(key, "le=\"+Inf\""))) \(s.count)\n"
                    out += "\(name)_sum\(Self.braced(key)) \(Self.number(s.value))\n\(name)_count\(Self.braced(key)) \(s.count)\n"
                }
            }
        }
        return out
    }

    static func labelText(_ labels: [String: String]) -> String {
        labels.keys.sorted().map { key in
            let value = labels[key]!.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
            return "\(key)=\"\(value)\""
        }.joined(separator: ",")
    }

    private static func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : a + "," + b }
    private static func braced(_ labels: String) -> String { labels.isEmpty ? "" : "{\(labels)}" }
    private static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}
