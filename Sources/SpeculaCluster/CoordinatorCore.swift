import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// The coordinator's state machine: handshakes, worker pools, requests and their rounds.
///
/// One round: assign K drafts to workers of one pool (same draft-model fingerprint), send
/// `Speculate`, wait until every assigned worker delivered or the deadline passed, merge the
/// drafts of the workers that delivered *all* of theirs into a tree (never "the ones that happened
/// to arrive": inclusion depends on timing only), score the tree with the target, verify, stream
/// the tokens to the client and `Accepted` to the workers. With no drafts the target decodes one
/// token itself. All events arrive through one ordered stream (`CoordinatorEvent`).
actor CoordinatorCore {
    private let target: ClusterModel
    private let scorer: any TargetScorer
    private let options: CoordinatorOptions
    private let logger: Logger
    private let events: AsyncStream<CoordinatorEvent>.Continuation

    private enum Peer {
        case greeting
        case worker(WorkerState)
        case client
    }

    private struct WorkerState {
        let connection: Connection
        let nodeID: String
        let fingerprint: String
        /// Announced drafting speed (tokens/s; 0 = unknown).
        let tokensPerSecond: Double
        /// How many context tokens this worker holds, per request.
        var synced: [UInt64: Int] = [:]
    }

    private var peers: [UInt64: Peer] = [:]
    private var requests: [UInt64: GenerationRequest] = [:]
    /// Rounds whose draft set is fixed, waiting for the next batched target pass.
    private var readyRounds: [ClosedRound] = []
    /// Chooses K and γ for requests that leave them open.
    private var planner = SpeculationPlanner()

    /// A round whose drafts are fixed: its tree and the draft rows at the tree's internal nodes.
    private struct ClosedRound {
        let id: UInt64
        let round: UInt64
        let tree: DraftTree
        let draftRows: [SparseDistribution?]
        /// Draft index (in the round) of each tree draft.
        let draftIndices: [Int]
        let waited: TimeInterval
        /// Drafts that were ready when their Speculate arrived.
        let draftedAhead: Int
    }
    private var nextRequestID: UInt64 = 1

    init(target: ClusterModel, options: CoordinatorOptions, logger: Logger, events: AsyncStream<CoordinatorEvent>.Continuation) {
        self.target = target
        self.scorer = target.makeScorer()
        self.options = options
        self.logger = logger
        self.events = events
    }

    func run(_ stream: AsyncStream<CoordinatorEvent>) async {
        for await event in stream {
            switch event {
            case .message(let connection, let message): receive(message, from: connection)
            case .closed(let connection, let reason): closed(connection, reason)
            case .deadline(let request, let round): deadline(request, round)
            case .scoreReadyRounds: scoreReadyRounds()
            }
        }
    }

    // MARK: - Connections

    private func receive(_ message: Message, from connection: Connection) {
        switch peers[connection.id] ?? .greeting {
        case .greeting:
            greet(message, from: connection)
        case .worker:
            switch message {
            case .draftBlock(let block): draftArrived(block, from: connection)
            case .error(let error): logger.warning("worker error", metadata: ["worker": "\(connection.peer)", "message": "\(error.message)"])
            default: logger.debug("ignoring worker message", metadata: ["kind": "\(message.kind)"])
            }
        case .client:
            switch message {
            case .generate(let generate): start(generate, from: connection)
            case .cancel(let cancel): cancelRequests { $0.client.id == connection.id && $0.clientRequestID == cancel.requestID }
            default: logger.debug("ignoring client message", metadata: ["kind": "\(message.kind)"])
            }
        }
    }

    private func greet(_ message: Message, from connection: Connection) {
        guard case .hello(let hello) = message else {
            refuse(connection, code: .protocolViolation, "the first message must be Hello, got \(message.kind)")
            return
        }
        var ack = HelloAck()
        ack.nodeID = options.nodeID
        ack.modelFingerprint = target.fingerprint
        ack.tokenizerFingerprint = target.tokenizerFingerprint
        ack.vocabSize = UInt32(target.vocabularySize)
        ack.heartbeatIntervalMs = UInt32(options.connection.heartbeatIntervalMs)
        func deny(_ code: WireErrorCode, _ reason: String) {
            ack.reason = reason
            connection.send(.helloAck(ack))
            refuse(connection, code: code, reason)
        }
        guard hello.protocolVersion == WireProtocol.version else {
            return deny(.incompatible, "protocol version \(hello.protocolVersion) is not supported (coordinator speaks \(WireProtocol.version))")
        }
        if let secret = options.authSecret {
            let expected = HMACSHA256.hex(key: Array(secret.utf8), message: Array(hello.authNonce.utf8))
            guard hello.authNonce.count >= 16, HMACSHA256.constantTimeEquals(expected, hello.authToken) else {
                return deny(.unauthenticated, "authentication failed: Hello must carry a nonce of 16+ characters and its HMAC-SHA256 under the shared secret")
            }
        }
        switch hello.role {
        case .worker:
            guard hello.tokenizerFingerprint == target.tokenizerFingerprint, Int(hello.vocabSize) == target.vocabularySize else {
                return deny(.incompatible, "tokenizer mismatch: worker has \(hello.tokenizerFingerprint) (\(hello.vocabSize) tokens), target has \(target.tokenizerFingerprint) (\(target.vocabularySize) tokens)")
            }
            peers[connection.id] = .worker(WorkerState(connection: connection, nodeID: hello.nodeID, fingerprint: hello.modelFingerprint, tokensPerSecond: hello.capabilities?.draftTokensPerSecond ?? 0))
            logger.info("worker joined", metadata: ["worker": "\(hello.nodeID)", "peer": "\(connection.peer)", "draft.fingerprint": "\(hello.modelFingerprint)"])
        case .client:
            peers[connection.id] = .client
        default:
            return deny(.protocolViolation, "role \(hello.role) cannot join a coordinator")
        }
        ack.accepted = true
        ack.reason = "welcome"
        connection.send(.helloAck(ack))
    }

    private func refuse(_ connection: Connection, code: WireErrorCode, _ reason: String) {
        logger.warning("refusing peer", metadata: ["peer": "\(connection.peer)", "reason": "\(reason)"])
        connection.fail(ErrorMessage(code: code, message: reason), reason: .local(reason))
    }

    private func closed(_ connection: Connection, _ reason: CloseReason) {
        let peer = peers.removeValue(forKey: connection.id)
        switch peer {
        case .worker(let worker):
            logger.info("worker left", metadata: ["worker": "\(worker.nodeID)", "reason": "\(reason)"])
            // Its drafts take no part in rounds still waiting: drop its assignment, re-check.
            for id in Array(requests.keys) {
                guard requests[id]?.assignment.removeValue(forKey: connection.id) != nil else { continue }
                requests[id]?.received[connection.id] = nil
                if requests[id]?.allDraftsArrived == true { finishRound(id) }
            }
        case .client:
            cancelRequests { $0.client.id == connection.id }
        default:
            break
        }
    }

    // MARK: - Requests

    private func start(_ generate: GenerateRequest, from client: Connection) {
        func reject(_ why: String) {
            client.send(.error(ErrorMessage(code: .badRequest, message: why, requestID: generate.requestID)))
        }
        let sampling = SamplingParameters(wire: generate.sampling)
        let kindName = generate.verifier.isEmpty ? VerifierKind.defaultKind(temperature: sampling.temperature).rawValue : generate.verifier
        guard let kind = VerifierKind(name: kindName) else {
            return reject("unknown verifier '\(kindName)'; choose one of \(VerifierKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard kind.isLossless || generate.allowLossy else {
            return reject("verifier '\(kind.rawValue)' is not lossless; set allow_lossy to use it anyway")
        }
        guard !kind.requiresGreedy || sampling.isGreedy else {
            return reject("verifier 'greedy' needs temperature 0")
        }
        var promptTokens = generate.promptTokens.map(Int.init)
        if !generate.prompt.isEmpty {
            guard let tokenizer = target.tokenizer else {
                return reject("this coordinator's model has no tokenizer; send prompt_tokens")
            }
            promptTokens = tokenizer.encode(generate.chat ? tokenizer.chatPrompt(user: generate.prompt) : generate.prompt)
        }
        guard !promptTokens.isEmpty else { return reject("the prompt is empty") }
        guard promptTokens.allSatisfy({ $0 < target.vocabularySize }) else {
            return reject("prompt_tokens has ids outside 0..<\(target.vocabularySize)")
        }
        guard generate.maxTokens >= 1 else { return reject("max_tokens must be at least 1") }
        let drafts = generate.noDraft ? 0 : generate.numDrafts == 0 ? options.defaultDrafts : Int(generate.numDrafts)
        let block = generate.blockLength == 0 ? options.defaultBlockLength : Int(generate.blockLength)
        guard drafts <= options.maxDrafts, block <= options.maxBlockLength else {
            return reject("num_drafts ≤ \(options.maxDrafts) and block_length ≤ \(options.maxBlockLength) please")
        }
        let id = nextRequestID
        nextRequestID += 1
        requests[id] = GenerationRequest(
            id: id, client: client, clientRequestID: generate.requestID, promptLength: promptTokens.count, context: promptTokens,
            maxTokens: Int(generate.maxTokens), sampling: sampling, seed: generate.seed, verifier: kind.makeVerifier(),
            drafts: kind.usesMultipleDrafts ? drafts : min(drafts, 1), blockLength: block,
            adaptive: !generate.noDraft && generate.numDrafts == 0 && generate.blockLength == 0 && kind.usesMultipleDrafts,
            choices: StreamChoices(RandomStream(seed: generate.seed, stream: .max)),
            text: target.tokenizer.map { StreamingDecoder(tokenizer: $0) }, stop: generate.stop)
        startRound(id)
    }

    /// The live workers of the largest pool (one draft-model fingerprint).
    private func pool() -> [WorkerState] {
        var pools: [String: [WorkerState]] = [:]
        for case .worker(let w) in peers.values { pools[w.fingerprint, default: []].append(w) }
        return pools.max { a, b in a.value.count != b.value.count ? a.value.count < b.value.count : a.key > b.key }?.value
            .sorted { $0.connection.id < $1.connection.id } ?? []
    }

    private func startRound(_ id: UInt64) {
        guard var request = requests[id] else { return }
        request.round += 1
        request.closed = false
        if request.adaptive {
            let choice = planner.choose(maxDrafts: min(4, options.maxDrafts), maxBlock: min(8, options.maxBlockLength))
            (request.drafts, request.blockLength) = (choice.drafts, choice.block)
        }
        request.assignment = [:]
        request.received = [:]
        request.roundStarted = Date()
        let workers = pool()
        if request.drafts > 0 && !workers.isEmpty {
            for (index, w) in DraftAssignment.assign(drafts: request.drafts, speeds: workers.map(\.tokensPerSecond)).enumerated() {
                request.assignment[workers[w].connection.id, default: []].append(index)
            }
            for worker in workers {
                guard let indices = request.assignment[worker.connection.id] else { continue }
                let synced = min(worker.synced[id] ?? 0, request.context.count)
                var speculate = Speculate()
                speculate.requestID = id
                speculate.round = request.round
                speculate.contextPosition = UInt32(synced)
                speculate.contextTokens = request.context[synced...].map { UInt32($0) }
                speculate.numDrafts = UInt32(indices.count)
                speculate.blockLength = UInt32(request.blockLength)
                speculate.sampling = request.sampling.wire
                speculate.streamIDs = indices.map { request.round << 20 | UInt64($0) }
                speculate.seed = request.seed
                speculate.maxSupport = options.maxSupport
                speculate.nextStreamIDs = indices.map { (request.round + 1) << 20 | UInt64($0) }
                worker.connection.send(.speculate(speculate))
                if case .worker(var state) = peers[worker.connection.id] {
                    state.synced[id] = request.context.count
                    peers[worker.connection.id] = .worker(state)
                }
            }
        }
        requests[id] = request
        let round = request.round
        let events = self.events
        if request.assignment.isEmpty {
            // No drafts: the target decodes one token itself. Through the event stream, so a long
            // draft-less generation is a loop, not a recursion.
            events.yield(.deadline(request: id, round: round))
            return
        }
        let deadline = options.roundDeadlineMs
        Task {
            try? await Task.sleep(for: .milliseconds(deadline))
            events.yield(.deadline(request: id, round: round))
        }
    }

    private func draftArrived(_ block: DraftBlock, from worker: Connection) {
        guard var request = requests[block.requestID], block.round == request.round,
              let indices = request.assignment[worker.id], (request.received[worker.id]?.count ?? 0) < indices.count
        else { return }  // late or unasked-for: ignore
        request.received[worker.id, default: []].append(block)
        requests[block.requestID] = request
        if request.allDraftsArrived { finishRound(block.requestID) }
    }

    private func deadline(_ id: UInt64, _ round: UInt64) {
        guard let request = requests[id], request.round == round else { return }
        finishRound(id)
    }

    /// Fixes the current round's drafts (those of every worker that delivered all of its own) and
    /// queues the round for the next batched target pass.
    private func finishRound(_ id: UInt64) {
        guard var request = requests[id], !request.closed else { return }
        request.closed = true
        let waited = Date().timeIntervalSince(request.roundStarted)
        var blocks: [(index: Int, block: DraftBlock)] = []
        for (worker, indices) in request.assignment {
            guard let received = request.received[worker], received.count >= indices.count else { continue }
            for block in received where Int(block.draftIndex) < indices.count {
                blocks.append((indices[Int(block.draftIndex)], block))
            }
        }
        blocks.sort { $0.index < $1.index }
        var drafts: [[Token]] = []
        var rows: [[SparseDistribution]] = []
        var indices: [Int] = []
        let draftedAhead = blocks.filter { $0.block.draftedAhead }.count
        for (index, block) in blocks {
            guard let parsed = parse(block, request) else { continue }
            drafts.append(parsed.tokens)
            rows.append(parsed.rows)
            indices.append(index)
        }
        let (tree, draftRows) = RoundTree.build(drafts: drafts, rows: rows)
        requests[id] = request
        if readyRounds.isEmpty { events.yield(.scoreReadyRounds) }
        readyRounds.append(ClosedRound(id: id, round: request.round, tree: tree, draftRows: draftRows, draftIndices: indices, waited: waited, draftedAhead: draftedAhead))
    }

    /// One target pass over every ready round, then verification of each.
    private func scoreReadyRounds() {
        let rounds = readyRounds.filter { requests[$0.id]?.round == $0.round }
        readyRounds.removeAll()
        guard !rounds.isEmpty else { return }
        let scoreStart = Date()
        let rows = scorer.scoreBatch(rounds.map { ScoringItem(request: $0.id, context: requests[$0.id]!.context, tree: $0.tree, sampling: requests[$0.id]!.sampling) })
        let scored = Date()
        planner.observePass(tokens: rounds.reduce(0) { $0 + $1.tree.count }, micros: scored.timeIntervalSince(scoreStart) * 1e6)
        for (round, targetRows) in zip(rounds, rows) {
            verify(round, targetRows: targetRows, batch: rounds.count, scoreMicros: scored.timeIntervalSince(scoreStart) * 1e6)
        }
    }

    private func verify(_ round: ClosedRound, targetRows: [DenseDistribution], batch: Int, scoreMicros: Double) {
        let id = round.id
        guard var request = requests[id] else { return }
        let tree = round.tree
        let draftRows = round.draftRows
        let waited = round.waited
        let verifyStart = Date()
        let problem = VerificationProblem(tree: tree, draft: draftRows, target: targetRows, blockLength: request.blockLength)
        let outcome = request.verifier.verify(problem, choices: &request.choices)
        let verified = Date()
        planner.observeRound(drafts: tree.draftCount, block: request.blockLength, accepted: outcome.acceptedLength)
        scorer.accept(request: id, nodes: Array(tree.nodePath(to: outcome.acceptedNode).dropFirst()))

        var emitted = Array(outcome.emittedTokens.prefix(request.maxTokens - request.generated))
        var finish: FinishReason?
        if let eos = target.endOfSequence, let at = emitted.firstIndex(of: eos) {
            emitted = Array(emitted[...at])
            finish = .endOfSequence
        }
        let oldLength = request.context.count
        request.context += emitted
        request.rounds += 1
        request.targetPasses += 1
        request.acceptedDraftTokens += UInt64(min(outcome.acceptedLength, emitted.count))
        var delta = ""
        if var decoder = request.text {
            delta = decoder.append(emitted.filter { $0 != target.endOfSequence })
            request.text = decoder
            request.generatedText += delta
            if finish == nil, request.stop.contains(where: { !$0.isEmpty && request.generatedText.contains($0) }) { finish = .stop }
        }
        if finish == nil && request.generated >= request.maxTokens { finish = .length }
        if finish != nil, var decoder = request.text { delta += decoder.finish() }

        var stats = RoundStats()
        stats.round = request.round
        stats.drafts = UInt32(tree.draftCount)
        stats.blockLength = UInt32(request.blockLength)
        stats.accepted = UInt32(outcome.acceptedLength)
        stats.draftIndex = outcome.draftIndex.map { Int32(round.draftIndices[$0]) } ?? -1
        stats.waitMicros = waited * 1e6
        stats.targetMicros = scoreMicros
        stats.batchSize = UInt32(batch)
        stats.adaptive = request.adaptive
        stats.draftedAhead = UInt32(round.draftedAhead)
        stats.acceptanceEstimate = planner.acceptance
        (stats.passCostFixedMicros, stats.passCostPerTokenMicros) = planner.passCost
        stats.verifyMicros = verified.timeIntervalSince(verifyStart) * 1e6
        var chunk = TokenChunk()
        chunk.requestID = request.clientRequestID
        chunk.tokens = emitted.map { UInt32($0) }
        chunk.text = delta
        chunk.rounds = [stats]
        request.client.send(.tokenChunk(chunk))
        logger.trace("round", metadata: ["request.id": "\(id)", "round": "\(request.round)", "accepted": "\(outcome.acceptedLength)", "waited.ms": "\(Int(waited * 1000))"])

        // Keep the workers in step.
        var accepted = Accepted()
        accepted.requestID = id
        accepted.round = request.round
        accepted.tokens = emitted.map { UInt32($0) }
        accepted.newPosition = UInt32(request.context.count)
        for (connectionID, peer) in peers {
            guard case .worker(var worker) = peer, worker.synced[id] == oldLength else { continue }
            if finish == nil {
                worker.connection.send(.accepted(accepted))
                worker.synced[id] = request.context.count
            } else {
                worker.connection.send(.cancel(Cancel(requestID: id, reason: "request finished")))
                worker.synced[id] = nil
            }
            peers[connectionID] = .worker(worker)
        }

        if let finish {
            var done = Done()
            done.requestID = request.clientRequestID
            done.reason = finish
            done.promptTokens = UInt32(request.promptLength)
            done.generatedTokens = UInt32(request.generated)
            done.rounds = request.rounds
            done.targetPasses = request.targetPasses
            done.acceptedDraftTokens = request.acceptedDraftTokens
            done.elapsedSeconds = Date().timeIntervalSince(request.started)
            request.client.send(.done(done))
            requests[id] = nil
            scorer.release(request: id)
            return
        }
        requests[id] = request
        startRound(id)
    }

    /// A delivered block as tokens and the rows they were drawn from, or nil when it is malformed
    /// (wrong length, a token outside its own row's support, an invalid row).
    private func parse(_ block: DraftBlock, _ request: GenerationRequest) -> (tokens: [Token], rows: [SparseDistribution])? {
        guard !block.tokens.isEmpty, block.tokens.count <= request.blockLength, block.distributions.count == block.tokens.count else { return nil }
        var rows: [SparseDistribution] = []
        for (token, wire) in zip(block.tokens, block.distributions) {
            guard let row = SparseShipping.distribution(wire, vocabularySize: target.vocabularySize), row.probability(of: Int(token)) > 0 else {
                logger.warning("dropping malformed draft block", metadata: ["request.id": "\(block.requestID)", "draft": "\(block.draftIndex)"])
                return nil
            }
            rows.append(row)
        }
        return (block.tokens.map(Int.init), rows)
    }

    private func cancelRequests(where matches: (GenerationRequest) -> Bool) {
        for (id, request) in requests where matches(request) {
            requests[id] = nil
            scorer.release(request: id)
            for (connectionID, peer) in peers {
                guard case .worker(var worker) = peer, worker.synced.removeValue(forKey: id) != nil else { continue }
                worker.connection.send(.cancel(Cancel(requestID: id, reason: "cancelled")))
                peers[connectionID] = .worker(worker)
            }
            logger.info("request cancelled", metadata: ["request.id": "\(id)"])
        }
    }
}
