import Foundation
import Glibc
import SpeculaCore
import SpeculaModel
import SpeculaNet
import Synchronization
import Testing

/// The whole cluster in real processes on loopback, with toy n-gram models: the output law must
/// be the target's, through faults too. Chi-square tests use a false-alarm rate of 1e-4 each.
@Suite(.serialized)
struct ClusterTests {
    static let samples = 20_000

    /// Toy files plus the exact law of the target's whole outputs after the prompt 0,1: 3 tokens,
    /// or fewer ending at `eos`.
    struct Toys {
        let files: ToyFiles
        let targetLaw: [[Token]: Double]

        init(vocabulary: Int = 3, order: Int = 3, seed: UInt64 = 4, temperature: Double = 1, eos: Token? = nil) throws {
            files = try ToyFiles(vocabulary: vocabulary, order: order, seed: seed, eos: eos)
            let pair = RandomToyModels.pair(vocabularySize: vocabulary, order: order, seed: seed, endOfSequence: eos)
            targetLaw = pair.target.outputLaw(after: [0, 1], maxTokens: 3, sampling: SamplingParameters(temperature: temperature))
        }
    }

    static func generateArguments(verifier: String, drafts: Int = 2, block: Int = 3, seed: Int = 1000, samples: Int = samples) -> [String] {
        ["--prompt-tokens", "0,1", "--max-tokens", "3", "--samples", String(samples), "--seed", String(seed),
         "--verifier", verifier, "--drafts", String(drafts), "--block", String(block)]
    }

    @Test(arguments: [("multidraft-block", 2), ("block", 1)])
    func clusterOutputFollowsTheTargetLaw(verifier: String, drafts: Int) throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        try cluster.startWorker(model: toys.files.draft)
        try cluster.startWorker(model: toys.files.draft)
        let output = try cluster.generate(Self.generateArguments(verifier: verifier, drafts: drafts))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(test.passes(alpha: 1e-4), "\(verifier): chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    /// Drafts that end at the toys' end of sequence inside a pass (a pass's depth is the least
    /// its drafts delivered, and an ended draft delivers no more): the law of whole outputs,
    /// tokens and where they end, is still the target's.
    @Test(arguments: [("block", 1), ("multidraft-block", 2), ("kseq", 3)])
    func draftsEndingAtEndOfSequenceKeepTheTargetLaw(verifier: String, drafts: Int) throws {
        let toys = try Toys(eos: 2)
        #expect(toys.targetLaw.keys.contains { $0.count < 3 }, "some outputs must end early")
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        try cluster.startWorker(model: toys.files.draft)
        try cluster.startWorker(model: toys.files.draft)
        let output = try cluster.generate(Self.generateArguments(verifier: verifier, drafts: drafts))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(test.passes(alpha: 1e-4), "\(verifier) K=\(drafts): chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    @Test func adaptiveDraftsAndBlockLengthKeepTheTargetLaw() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        try cluster.startWorker(model: toys.files.draft)
        try cluster.startWorker(model: toys.files.draft)
        // K and γ left open: the coordinator chooses them every round from past rounds.
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", drafts: 0, block: 0))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    /// The law test's negative control: with the coordinator's checks of draft tokens off, workers
    /// that ship a row other than the one they drew from break the law, and the test sees it.
    @Test func aWorkerThatShipsAWrongDistributionIsCaught() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--trust-workers-for-testing"])
        try cluster.startWorker(model: toys.files.draft, extra: ["--ship-wrong-distribution"])
        try cluster.startWorker(model: toys.files.draft, extra: ["--ship-wrong-distribution"])
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block"))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(!test.passes(alpha: 1e-4), "the lying workers went unnoticed: chi-square \(test.statistic)")
    }

    /// Workers are checked, not trusted: the coordinator draws every draft token again from the row
    /// shipped with it on the draft's stream, so the same lying workers are caught (counted,
    /// disconnected) and the output keeps the target's law.
    @Test func theCoordinatorsChecksStopWorkersThatShipAWrongDistribution() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--metrics-port", "0"])
        try cluster.startWorker(model: toys.files.draft, extra: ["--ship-wrong-distribution"])
        try cluster.startWorker(model: toys.files.draft, extra: ["--ship-wrong-distribution"])
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", samples: 5000))
        let metrics = try MetricsTests.get(try #require(cluster.metricsURL), path: "/metrics").body
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
        #expect((MetricsTests.value(metrics, "specula_worker_violations_total") ?? 0) >= 3, "the lies went uncounted")
    }

    /// A clever liar knows its random stream and ships rows crafted so that each draw lands on its
    /// favourite token: every token follows its row and stream, so the coordinator's redraw passes
    /// it, and with audits off the law breaks (this test's negative control). Audits catch it: the
    /// same draft drawn by an honest worker ships another row, a third worker outvotes the liar,
    /// and it is quarantined (refused when it comes back); the honest workers never are.
    func cleverLiar(auditFraction: String, honestWorkers: Int, liars: Int, drafts: Int) throws -> (ChiSquare, metrics: String, log: String) {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--metrics-port", "0", "--audit-fraction", auditFraction])
        for i in 0..<liars { try cluster.startWorker(model: toys.files.draft, extra: ["--steer-drafts-for-testing", "0", "--name", "liar-\(i)"]) }
        for i in 0..<honestWorkers { try cluster.startWorker(model: toys.files.draft, extra: ["--name", "honest-\(i)"]) }
        usleep(500_000)
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", drafts: drafts, samples: 4000) + ["--concurrency", "4"])
        let metrics = try MetricsTests.get(try #require(cluster.metricsURL), path: "/metrics").body
        return (ChiSquare(expected: toys.targetLaw, observedLines: output), metrics, cluster.coordinatorLogText)
    }

    @Test func aCleverLiarPassesTheRedrawAndBreaksTheLawWithoutAudits() throws {
        let (test, metrics, _) = try cleverLiar(auditFraction: "0", honestWorkers: 0, liars: 2, drafts: 2)
        #expect(!test.passes(alpha: 1e-4), "the clever liars went unnoticed by the law test: chi-square \(test.statistic)")
        #expect((MetricsTests.value(metrics, "specula_worker_violations_total") ?? 0) == 0, "the redraw was expected to pass them")
    }

    @Test func auditsQuarantineACleverLiarAndNoHonestWorker() throws {
        let (_, metrics, log) = try cleverLiar(auditFraction: "0.5", honestWorkers: 2, liars: 1, drafts: 1)
        #expect(MetricsTests.value(metrics, "specula_workers_quarantined_total") == 1, "\(metrics)")
        let quarantines = log.split(separator: "\n").filter { $0.contains("quarantining worker") }
        #expect(quarantines.count == 1 && quarantines[0].contains("worker=liar-0"), "\(quarantines)")
    }

    /// Law test with the coordinator decoding while drafting (requests one at a time, so the
    /// target is idle when a round starts): the output law must stay the target's, and the
    /// coordinator must have decoded many tokens that way — or, with the deliberately wrong
    /// variant that pairs each remaining draft token with the row before its own, the law must
    /// break.
    func decodeWhileDrafting(verifier: String, drafts: Int, wrong: Bool) throws -> (test: ChiSquare, decoded: Double, violations: Double) {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--metrics-port", "0"] + (wrong ? ["--misalign-draft-rows-for-testing"] : []))
        try cluster.startWorker(model: toys.files.draft)
        try cluster.startWorker(model: toys.files.draft)
        let output = try cluster.generate(Self.generateArguments(verifier: verifier, drafts: drafts, block: 2) + ["--concurrency", "4"])
        let metrics = try MetricsTests.get(try #require(cluster.metricsURL), path: "/metrics").body
        return (ChiSquare(expected: toys.targetLaw, observedLines: output), MetricsTests.value(metrics, "specula_decoded_while_drafting_total") ?? 0,
                MetricsTests.value(metrics, "specula_worker_violations_total") ?? 0)
    }

    @Test(arguments: [("multidraft-block", 2), ("block", 1)])
    func decodingWhileDraftingKeepsTheTargetLaw(verifier: String, drafts: Int) throws {
        let (test, decoded, violations) = try decodeWhileDrafting(verifier: verifier, drafts: drafts, wrong: false)
        #expect(decoded >= 2000, "only \(decoded) tokens decoded while drafting")
        #expect(violations == 0, "honest workers failed the coordinator's checks \(violations) times")
        #expect(test.passes(alpha: 1e-4), "\(verifier): chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    @Test func draftRowsMisalignedAfterTheTargetsOwnTokenAreCaught() throws {
        let (test, decoded, _) = try decodeWhileDrafting(verifier: "multidraft-block", drafts: 2, wrong: true)
        #expect(decoded >= 2000, "only \(decoded) tokens decoded while drafting")
        #expect(!test.passes(alpha: 1e-4), "the wrong variant went unnoticed: chi-square \(test.statistic)")
    }

    @Test func lawHoldsWhileAWorkerIsKilledAndRestarted() async throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--wait-deadline-ms", "100"])
        try cluster.startWorker(model: toys.files.draft)
        let victim = try cluster.startWorker(model: toys.files.draft)
        let output = try Self.killingAndRestarting(victim, of: cluster, model: toys.files.draft.path) {
            try cluster.generate(Self.generateArguments(verifier: "multidraft-block", samples: 10_000))
        }
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(output.split(separator: "\n").count == 10_000, "no request may be lost")
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    /// Runs `body` while worker `victim` is killed (SIGKILL) and started again every 150 ms.
    static func killingAndRestarting(_ victim: Int, of cluster: ClusterHarness, model: String, _ body: () throws -> String) throws -> String {
        let stop = StopFlag()
        let killer = Thread {
            while !stop.isSet {
                usleep(150_000)
                kill(cluster.workers[victim].processIdentifier, SIGKILL)
                cluster.workers[victim].waitUntilExit()
                let process = Process()
                process.executableURL = CLI.binary
                process.arguments = ["draft", "--model", model, "--coordinator", "127.0.0.1:\(cluster.port)", "--log-level", "error"]
                process.standardError = FileHandle.nullDevice
                try? process.run()
                cluster.replaceWorker(victim, with: process)
            }
        }
        killer.start()
        defer {
            stop.set()
            while !killer.isFinished { usleep(10_000) }
        }
        return try body()
    }

    /// Drafts of three laws in each round — the toy draft table, a second table and a model-free
    /// worker (`modelFree`) — through real processes. `asOneLaw`: the negative control, merging
    /// them as drafts of one law. `killing`: the second table's worker is killed and restarted
    /// throughout.
    func mixedPools(verifier: String, modelFree: String = "prompt-lookup:n=2", asOneLaw: Bool = false,
                    killing: Bool = false) throws -> (ChiSquare, metrics: String, lines: Int) {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--metrics-port", "0", "--wait-deadline-ms", "100"]
                                     + (asOneLaw ? ["--pool-drafts-as-one-law-for-testing"] : []))
        try cluster.startWorker(model: toys.files.draft)
        let second = try cluster.startWorker(model: toys.files.secondDraft)
        try cluster.startWorker(spec: modelFree)
        usleep(500_000)
        let generate = { try cluster.generate(Self.generateArguments(verifier: verifier, drafts: 2, samples: 10_000) + ["--concurrency", "4"]) }
        let output = killing ? try Self.killingAndRestarting(second, of: cluster, model: toys.files.secondDraft.path, generate) : try generate()
        let metrics = try MetricsTests.get(try #require(cluster.metricsURL), path: "/metrics").body
        return (ChiSquare(expected: toys.targetLaw, observedLines: output), metrics, output.split(separator: "\n").count)
    }

    @Test(arguments: ["mixed-block", "mixed-rrs"])
    func draftsOfThreeLawsInOneRoundKeepTheTargetLaw(verifier: String) throws {
        let (test, metrics, _) = try mixedPools(verifier: verifier)
        #expect(test.passes(alpha: 1e-4), "\(verifier): chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
        let served = metrics.split(separator: "\n").filter { $0.hasPrefix("specula_pool_passes_total{") && !$0.hasSuffix(" 0") }
        #expect(served.count == 3, "every pool must serve passes: \(served) \(metrics.split(separator: "\n").filter { $0.contains("workers") })")
    }

    /// A suffix drafter learns from the requests it has seen: its drafts change from request to
    /// request, each still a point mass.
    @Test func suffixDraftsMixedWithTwoTablesKeepTheTargetLaw() throws {
        let (test, metrics, _) = try mixedPools(verifier: "mixed-block", modelFree: "suffix:n=3")
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
        let served = metrics.split(separator: "\n").filter { $0.hasPrefix("specula_pool_passes_total{draft_model=\"suffix:") && !$0.hasSuffix(" 0") }
        #expect(served.count == 1, "the suffix drafter must serve passes")
    }

    @Test func mixedDraftsKeepTheTargetLawWhileAWorkerIsKilledAndRestarted() throws {
        let (test, _, lines) = try mixedPools(verifier: "mixed-block", killing: true)
        #expect(lines == 10_000, "no request may be lost")
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    @Test func mixedDraftsMergedAsOneLawAreCaught() throws {
        let (test, _, _) = try mixedPools(verifier: "mixed-block", asOneLaw: true)
        #expect(!test.passes(alpha: 1e-4), "drafts of three laws merged as one went unnoticed: chi-square \(test.statistic)")
    }

    @Test func aStalledWorkerOnlyDelaysRounds() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--wait-deadline-ms", "50"])
        try cluster.startWorker(model: toys.files.draft)
        let stalled = try cluster.startWorker(model: toys.files.draft)
        usleep(300_000)
        kill(cluster.workers[stalled].processIdentifier, SIGSTOP)
        defer { kill(cluster.workers[stalled].processIdentifier, SIGCONT) }
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", samples: 2000))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(output.split(separator: "\n").count == 2000)
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic)")
    }

    @Test func greedyThroughTheClusterEqualsGreedyTargetDecoding() throws {
        let toys = try Toys(vocabulary: 4, order: 3, seed: 12, temperature: 0)
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        try cluster.startWorker(model: toys.files.draft)
        try cluster.startWorker(model: toys.files.draft)
        // The target's own greedy continuation (plain decoding, in process).
        let pair = RandomToyModels.pair(vocabularySize: 4, order: 3, seed: 12)
        var context = [0, 1]
        for _ in 0..<40 { context.append(pair.target.distribution(after: context).argmax) }
        let expected = context.dropFirst(2).map(String.init).joined(separator: ",")
        for verifier in ["greedy", "multidraft-block"] {
            let output = try cluster.generate(["--prompt-tokens", "0,1", "--max-tokens", "40", "--temperature", "0", "--verifier", verifier, "--drafts", "3", "--block", "4"])
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(verifier)")
        }
    }

    @Test func aWorkerWithAnotherTokenizerIsRefusedNamingBothFingerprints() throws {
        let toys = try Toys()
        let other = try ToyFiles(vocabulary: 4, order: 2, seed: 3)
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        let result = try CLI.runAllowingFailure(["draft", "--model", other.draft.path, "--coordinator", "127.0.0.1:\(cluster.port)", "--log-level", "critical"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("toy-vocab-4") && result.stderr.contains("toy-vocab-3"), "stderr: \(result.stderr)")
    }

    @Test func workersReconnectAfterTheCoordinatorRestarts() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        let port = cluster.port
        try cluster.startWorker(model: toys.files.draft)
        cluster.stopCoordinator()
        usleep(500_000)
        try cluster.startCoordinator(model: toys.files.target, port: port)
        // Drafts must take part again once the worker is back (reconnect backoff ≤ a few seconds).
        var drafted = false
        let deadline = Date().addingTimeInterval(15)
        while !drafted && Date() < deadline {
            let output = try cluster.generate(["--prompt-tokens", "0,1", "--max-tokens", "8", "--json", "--drafts", "2", "--block", "2"])
            drafted = output.contains(#""drafts":2"#)
            if !drafted { usleep(200_000) }
        }
        #expect(drafted, "the worker never reconnected")
    }

    @Test func aClientThatDisconnectsDoesNotDisturbOthers() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        try cluster.startWorker(model: toys.files.draft)
        // A client killed mid-generation.
        let quitter = Process()
        quitter.executableURL = CLI.binary
        quitter.arguments = ["generate", "--coordinator", "127.0.0.1:\(cluster.port)", "--prompt-tokens", "0", "--max-tokens", "100000"]
        quitter.standardOutput = FileHandle.nullDevice
        try quitter.run()
        usleep(300_000)
        kill(quitter.processIdentifier, SIGKILL)
        quitter.waitUntilExit()
        if let c = cluster.coordinator, !c.isRunning {
            Issue.record("coordinator ended: status \(c.terminationStatus) reason \(c.terminationReason.rawValue); log: \(cluster.coordinatorLogText)")
        }
        let output = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", samples: 200))
        #expect(output.split(separator: "\n").count == 200)
        #expect(cluster.coordinator?.isRunning == true, "coordinator log: \(cluster.coordinatorLogText)")
    }

    @Test func concurrentRequestsShareTargetPasses() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target, extra: ["--wait-deadline-ms", "200"])
        try cluster.startWorker(model: toys.files.draft)
        let output = try cluster.generate(["--prompt-tokens", "0,1", "--max-tokens", "20", "--samples", "64", "--concurrency", "64", "--json"])
        let batches = output.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: #""batch":"#) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(batches.count >= 64 * 5, "every round reports its batch size")
        #expect((batches.max() ?? 0) > 1, "concurrent rounds must be scored in shared target passes")
    }

    @Test func localGenerationFollowsTheTargetLaw() throws {
        let toys = try Toys()
        let output = try CLI.run(["generate", "--local", "--target", toys.files.target.path, "--draft-model", toys.files.draft.path,
                                  "--prompt-tokens", "0,1", "--max-tokens", "3", "--samples", "20000", "--seed", "77", "--drafts", "3", "--block", "2"])
        let test = ChiSquare(expected: toys.targetLaw, observedLines: output)
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic), \(test.degreesOfFreedom) dof")
    }

    @Test func localGenerationStopsAtEndOfSequence() throws {
        // A generation that its end-of-sequence token ends, with nothing else left to do: the
        // local shell must stop there (it once waited for work that could not come, and trapped).
        let toys = try Toys(eos: 2)
        for drafts in [["--no-draft"], ["--drafts", "2", "--block", "2"]] {
            let output = try CLI.run(["generate", "--local", "--target", toys.files.target.path, "--draft-model", toys.files.draft.path,
                                      "--prompt-tokens", "0,1", "--max-tokens", "30", "--samples", "200", "--seed", "3"] + drafts)
            #expect(output.split(separator: "\n").count == 200, "one line per sample")
        }
    }

    @Test func draftsGoOnAcrossPasses() throws {
        // A draft identical to its target at temperature 0: every pass accepts all it was given,
        // so after its first pass a draft always goes on from where the accepted tokens end.
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: "synthetic:vocab=300,seed=5,window=3", extra: ["--wait-deadline-ms", "5000"])
        try cluster.startWorker(spec: "synthetic:vocab=300,seed=5,window=3,agreement=1,draft-seed=9")
        usleep(500_000)  // let the worker join: rounds before it are target-only
        let output = try cluster.generate(["--prompt-tokens", "1,2,3", "--max-tokens", "120", "--temperature", "0", "--drafts", "1", "--block", "4", "--json"])
        let drafted = output.split(separator: "\n").filter { $0.contains(#""drafts":1"#) }
        let continued = drafted.filter { $0.contains(#""continued_drafts":1"#) }.count
        let rounds = Set(drafted.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["round"] as? Int
        })
        #expect(drafted.count >= 10 && continued >= drafted.count - 1, "\(continued) of \(drafted.count) passes with a draft continued one")
        #expect(rounds.count <= 2, "one Speculate should serve the whole generation, saw rounds \(rounds.sorted())")
    }

    @Test func aWorkerThatLostARequestsContextGetsItWholeAgain() async throws {
        // A hand-made worker that reports, at its first Speculate, that it lost the request's
        // context (as after a dropped message), and never drafts.
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(spec: "synthetic:vocab=50,seed=5,window=3", extra: ["--wait-deadline-ms", "200"])
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let seen = Mutex<[Speculate]>([])
        let connection = try await loop.connect(host: "127.0.0.1", port: cluster.port) { _ in
            ConnectionHandlers(onMessage: { connection, message in
                guard case .speculate(let speculate) = message else { return }
                if seen.withLock({ $0.append(speculate); return $0.count == 1 }) {
                    connection.send(.error(ErrorMessage(code: .badRequest, message: "lost it", requestID: speculate.requestID)))
                }
            })
        }
        var hello = Hello()
        (hello.role, hello.nodeID, hello.modelFingerprint) = (.worker, "forgetful", "forgetful-draft")
        (hello.tokenizerFingerprint, hello.vocabSize) = ("synthetic-vocab-50", 50)
        connection.send(.hello(hello))
        usleep(300_000)
        let output = try cluster.generate(["--prompt-tokens", "1,2,3", "--max-tokens", "6", "--temperature", "0", "--drafts", "1", "--block", "2"])
        #expect(output.split(separator: ",").count == 6)
        let speculates = seen.withLock { $0 }
        try #require(speculates.count >= 2, "\(speculates.count) Speculate messages")
        #expect(speculates[0].contextPosition == 0 && speculates[0].contextTokens == [1, 2, 3])
        #expect(speculates[1].contextPosition == 0 && speculates[1].contextTokens.count > 3, "the next round must send the whole context again")
    }

    @Test func withoutWorkersTheTargetDecodesAlone() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        let output = try cluster.generate(["--prompt-tokens", "0,1", "--max-tokens", "20000"])
        #expect(output.split(separator: ",").count == 20000)
        let law = try cluster.generate(Self.generateArguments(verifier: "multidraft-block", samples: 5000))
        let test = ChiSquare(expected: toys.targetLaw, observedLines: law)
        #expect(test.passes(alpha: 1e-4), "chi-square \(test.statistic)")
    }

    @Test func theToyDemoRunsEveryModeAndPrintsItsTable() throws {
        let output = try CLI.run(["demo", "--toy"])
        for mode in ["target alone", "cluster, K=2+1 γ=4", "cluster, K and γ chosen each round"] {
            let row = output.split(separator: "\n").first { $0.hasPrefix(mode) }
            #expect(row != nil, "no table row for \(mode)")
            // 3 prompts of 32 tokens each, however many passes they took.
            #expect(row.map { $0.dropFirst(40).split(separator: " ").first } == "96", "\(row ?? "")")
        }
    }

    @Test func badRequestsGetAClearErrorAndANonZeroExit() throws {
        let toys = try Toys()
        let cluster = try ClusterHarness()
        try cluster.startCoordinator(model: toys.files.target)
        let lossy = try CLI.runAllowingFailure(["generate", "--coordinator", "127.0.0.1:\(cluster.port)", "--prompt-tokens", "0", "--max-tokens", "3", "--verifier", "spectr-gbv-published"])
        #expect(lossy.status != 0)
        #expect(lossy.stderr.contains("not lossless"), "stderr: \(lossy.stderr)")
        let outside = try CLI.runAllowingFailure(["generate", "--coordinator", "127.0.0.1:\(cluster.port)", "--prompt-tokens", "0,9", "--max-tokens", "3"])
        #expect(outside.status != 0)
        #expect(outside.stderr.contains("outside 0..<3"), "stderr: \(outside.stderr)")
    }
}

/// A flag one thread sets and another polls.
final class StopFlag: @unchecked Sendable {
    // @unchecked Sendable invariant: guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
