import Logging
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet
import Testing

/// Admission: the pure queue and budget rules, then the real core under them — requests past
/// the queue refused as overloaded, waiting ones let in as others end, running ones preempted
/// to fit the KV budget and finishing with exactly the tokens they would have had.
struct AdmissionTests {
    static func control(running: Int = 8, waiting: Int = 8, budget: Int? = nil) -> AdmissionControl {
        var limits = AdmissionControl.Limits()
        (limits.maxRunning, limits.maxWaiting, limits.kvCacheBytes) = (running, waiting, budget)
        return AdmissionControl(limits: limits, bytesPerPosition: 10, pagePositions: 4)
    }

    @Test func memoryIsCountedInWholePages() {
        let admission = Self.control()
        #expect([0, 1, 4, 5, 8].map { admission.bytes(positions: $0) } == [0, 40, 40, 80, 80])
    }

    @Test func requestsRunUntilFullThenWaitInOrderThenAreRefused() {
        var admission = Self.control(running: 2, waiting: 1)
        #expect(admission.arrive(1, positions: 4, held: 0) == .run)
        #expect(admission.arrive(2, positions: 4, held: 40) == .run)
        #expect(admission.arrive(3, positions: 4, held: 80) == .wait)
        #expect(admission.arrive(4, positions: 4, held: 80) == .refuse)
        admission.leave(1)
        #expect(admission.admit { _ in 4 } == [3])
        #expect(admission.running == [2, 3] && admission.waiting.isEmpty)
    }

    @Test func nobodyOvertakesAWaitingRequest() {
        var admission = Self.control(running: 4, waiting: 4, budget: 120)
        #expect(admission.arrive(1, positions: 8, held: 0) == .run)
        #expect(admission.arrive(2, positions: 8, held: 80) == .wait, "80 + 80 bytes do not fit 120")
        #expect(admission.arrive(3, positions: 1, held: 80) == .wait, "it would fit, but 2 came first")
        admission.leave(1)
        #expect(admission.admit { $0 == 2 ? 8 : 1 } == [2, 3])
    }

    @Test func theNewestArePreemptedToFitAndTheOldestNeverIs() {
        var admission = Self.control(running: 4, waiting: 4, budget: 200)
        for id: UInt64 in 1...3 { #expect(admission.arrive(id, positions: 4, held: 40 * Int(id - 1)) == .run) }
        // Each grew to 8 positions (80 bytes): 240 > 200, so the newest waits again, at the head.
        #expect(admission.arrive(4, positions: 4, held: 240) == .wait)
        #expect(admission.preempt { _ in 8 } == [3])
        #expect(admission.running == [1, 2] && admission.waiting == [3, 4])
        // One request larger than the budget alone still runs: it was checked to fit alone at the door.
        #expect(admission.preempt { $0 == 1 ? 30 : 8 } == [2])
        #expect(admission.running == [1])
        #expect(admission.preempt { _ in 1000 }.isEmpty)
    }

    // MARK: The core under admission

    /// Runs requests of `prompts` through the real core with no workers (plain decoding) and an
    /// exact scorer, all sent at once; returns each request's tokens (nil: refused), the
    /// largest number of requests in one pass, and how many requests were preempted.
    static func serve(_ prompts: [[Token]], maxTokens: Int, options: CoordinatorOptions, kvBytesPerPosition: Int = 0)
        -> (outputs: [[Token]?], widestPass: Int, preempted: Int) {
        let pair = RandomToyModels.pair(vocabularySize: 3, order: 3, seed: 5)
        var target = ClusterModel.toy(pair.target, fingerprint: "admission")
        target.simulatedKVBytesPerPosition = kvBytesPerPosition
        let scorer = target.makeScorer()
        var core = SpeculationCore(target: target, options: options, logger: CoreScript.quiet, auditSeed: 1)
        let now = ContinuousClock.now
        var hello = Hello()
        hello.role = .client
        var actions = core.opened(1, challenge: nil) + core.received(.hello(hello), from: 1, at: now)
        for (i, prompt) in prompts.enumerated() {
            var request = GenerateRequest()
            (request.requestID, request.promptTokens, request.maxTokens, request.seed) = (UInt64(i + 1), prompt.map { UInt32($0) }, UInt32(maxTokens), UInt64(i))
            request.sampling = SamplingParameters(temperature: 1).wire
            actions += core.received(.generate(request), from: 1, at: now)
        }
        var outputs = [[Token]?](repeating: [], count: prompts.count)
        var (open, widest, preempted) = (prompts.count, 0, 0)
        for _ in 0..<10_000 where open > 0 {
            actions += core.schedule(at: now)
            var pass: TargetPass?
            for action in actions {
                switch action {
                case .send(.tokenChunk(let chunk), _): outputs[Int(chunk.requestID) - 1]! += chunk.tokens.map(Int.init)
                case .send(.done, _): open -= 1
                case .send(.error(let error), _):
                    #expect(error.code == .overloaded, "\(error.message)")
                    outputs[Int(error.requestID) - 1] = nil
                    open -= 1
                case .score(let p): pass = p
                case .release: preempted += 1
                default: break
                }
            }
            actions = []
            guard let pass else { continue }
            widest = max(widest, pass.items.count)
            actions = core.passFinished(pass, rows: scorer.scoreBatch(pass.items), duration: .milliseconds(1), at: now)
        }
        #expect(open == 0, "every request ended")
        // Every request's cache is released once at its end; more releases were preemptions.
        return (outputs, widest, preempted - outputs.compactMap { $0 }.count)
    }

    @Test func pastTheQueueRequestsAreRefusedAndTheRestRunAFewAtATime() {
        var options = CoordinatorOptions()
        (options.admission.maxRunning, options.admission.maxWaiting) = (2, 3)
        let prompts = [[Token]](repeating: [1, 0], count: 8)
        let (outputs, widest, _) = Self.serve(prompts, maxTokens: 6, options: options)
        #expect(outputs.map { $0 != nil } == [true, true, true, true, true, false, false, false])
        #expect(outputs.compactMap { $0 }.allSatisfy { $0.count == 6 })
        #expect(widest == 2, "never more than --max-requests in a pass")
    }

    @Test func requestsPreemptedToFitTheBudgetGetTheTokensTheyWouldHaveHad() {
        let prompts: [[Token]] = [[1, 0], [0, 2, 1], [2, 2], [1, 1, 0, 2]]
        let free = Self.serve(prompts, maxTokens: 24, options: CoordinatorOptions())
        var options = CoordinatorOptions()
        // 16 bytes a position, pages of 32: three requests of 33+ positions need 3 × 1024 bytes.
        options.admission.kvCacheBytes = 2_200
        let tight = Self.serve(prompts, maxTokens: 24, options: options, kvBytesPerPosition: 16)
        #expect(tight.preempted > 0, "the budget forced preemptions")
        #expect(free.outputs.allSatisfy { $0?.count == 24 })
        #expect(tight.outputs == free.outputs, "same seeds, same tokens: preemption changes only when they come")
    }
}
