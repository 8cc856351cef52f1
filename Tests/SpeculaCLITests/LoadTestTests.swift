import Foundation
import Testing

/// `specula loadtest` against real processes: a synthetic cluster under 64 concurrent clients.
@Suite(.serialized)
struct LoadTestTests {
    static let target = "synthetic:vocab=64,seed=3,peak=2"
    static let draft = "synthetic:vocab=64,seed=3,peak=2,agreement=0.9,draft-seed=5"

    @Test func aLoadTestOfASyntheticClusterLosesNoRequest() throws {
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: Self.target, extra: ["--wait-deadline-ms", "200"])
        try cluster.startWorker(spec: Self.draft, extra: ["--count", "8", "--name", "sim"])
        Thread.sleep(forTimeInterval: 1)
        let out = cluster.directory.appendingPathComponent("load").path
        let json = try CLI.run(["loadtest", "--coordinator", "127.0.0.1:\(cluster.port)", "--requests", "2000", "--concurrency", "64",
                                "--output-tokens", "2-6", "--temperature", "0.8", "--quiet", "--json", "--out", out, "--request-timeout", "120"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let step = try #require((summary["steps"] as? [[String: Any]])?.first)
        let sent = step["sent"] as? Int, ok = step["ok"] as? Int
        let errors = (step["errors"] as? [String: Int]) ?? [:]
        #expect(sent == 2000)
        #expect(ok == 2000, "errors: \(errors); coordinator log: \(cluster.coordinatorLogText.suffix(2000))")
        #expect(sent == (ok ?? 0) + errors.values.reduce(0, +), "counts do not add up")
        let speculative = try #require(step["speculative"] as? [String: Any])
        #expect((speculative["tokensPerTargetPass"] as? Double ?? 0) > 1, "drafts were used: \(speculative)")
        // The files a user reads: one CSV line per request, and the plots.
        let csv = try String(contentsOfFile: out + "/requests.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 2001)
        for plot in ["ttft_cdf.svg", "itl_cdf.svg", "e2e_cdf.svg"] {
            let svg = try String(contentsOfFile: out + "/" + plot, encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.contains("<polyline"), "\(plot)")
        }
    }

    @Test func anOpenLoopSweepWritesOneStepPerRateAndTheSweepPlots() throws {
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: Self.target)
        try cluster.startWorker(spec: Self.draft, extra: ["--count", "2"])
        Thread.sleep(forTimeInterval: 0.5)
        let out = cluster.directory.appendingPathComponent("sweep").path
        let json = try CLI.run(["loadtest", "--coordinator", "127.0.0.1:\(cluster.port)", "--mode", "gamma", "--burstiness", "0.5",
                                "--sweep", "20,40", "--requests", "40", "--output-tokens", "3", "--quiet", "--json", "--out", out])
        let steps = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["steps"] as? [[String: Any]])
        #expect(steps.count == 2)
        #expect(steps.map { $0["offeredLoad"] as? Double } == [20, 40])
        #expect(steps.allSatisfy { $0["ok"] as? Int == 40 })
        #expect(FileManager.default.fileExists(atPath: out + "/throughput_vs_load.svg"))
        #expect(FileManager.default.fileExists(atPath: out + "/p99_vs_load.svg"))
    }

    @Test func aSweepAgainstNoDraftRunsBothSidesAtEachLoadAndComparesThem() throws {
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: Self.target)
        try cluster.startWorker(spec: Self.draft, extra: ["--count", "2"])
        Thread.sleep(forTimeInterval: 0.5)
        let out = cluster.directory.appendingPathComponent("against").path
        let json = try CLI.run(["loadtest", "--coordinator", "127.0.0.1:\(cluster.port)", "--sweep", "1,3", "--requests-per-client", "4",
                                "--output-tokens", "32", "--against-no-draft", "--quiet", "--json", "--out", out])
        let comparison = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let loads = try #require(comparison["loads"] as? [[String: Any]])
        #expect(loads.map { $0["offeredLoad"] as? Double } == [1, 3])
        #expect(loads.allSatisfy { ($0["throughputRatio"] as? Double ?? 0) > 0 && ($0["p99TimePerOutputTokenRatio"] as? Double ?? 0) > 0 })
        func steps(_ side: String) throws -> [[String: Any]] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(side)/summary.json"))
            return try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["steps"] as? [[String: Any]])
        }
        let (drafted, plain) = (try steps("drafts"), try steps("no-draft"))
        #expect(drafted.map { $0["ok"] as? Int } == [4, 12] && plain.map { $0["ok"] as? Int } == [4, 12], "requests per client × clients")
        func tokensPerPass(_ step: [String: Any]) -> Double { (step["speculative"] as? [String: Any])?["tokensPerTargetPass"] as? Double ?? 0 }
        #expect(drafted.contains { tokensPerPass($0) > 1 }, "the drafts side drafts: \(drafted.map(tokensPerPass))")
        #expect(plain.allSatisfy { tokensPerPass($0) == 1 }, "the other side decodes plainly")
        for plot in ["tokens_per_second_vs_load.svg", "p99_tpot_vs_load.svg", "drafts/throughput_vs_load.svg", "no-draft/requests.csv"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + plot), "\(plot)")
        }
    }
}
