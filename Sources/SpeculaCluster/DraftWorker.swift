import Dispatch
import Synchronization
package import Logging
import SpeculaCore
package import SpeculaNet

/// A draft worker: connects to a coordinator (reconnecting with backoff), answers `Speculate` with
/// one `DraftBlock` per requested draft, and follows `Accepted` to keep each request's context.
///
/// Every draft token is sampled from exactly the sparse distribution shipped with it
/// (`SparseShipping`), using the random stream the coordinator named for that draft, so the K
/// drafts of a round are independent samples from one law. Drafting runs on a serial queue of its
/// own, never on the event-loop thread.
package final class DraftWorker: @unchecked Sendable {
    // @unchecked Sendable invariant: `contexts` is only touched on `drafting`; `connector` is set
    // in `start` before any callback can run.
    package struct Options: Sendable {
        package var nodeID = "worker"
        package var maxDrafts: UInt32 = 16
        package var maxBlockLength: UInt32 = 64
        /// Test-only negative control: ship a uniform distribution over the support instead of the
        /// one the token was drawn from. A cluster law test must catch this worker.
        package var shipsWrongDistribution = false
        /// The coordinator's shared secret, if it requires one.
        package var authSecret: String?
        /// Where this worker's metrics are recorded (served by `--metrics-port`).
        package var metrics = MetricsRegistry()
        package init() {}
    }

    private let model: ClusterModel
    private let drafter: Drafter
    private let options: Options
    private let logger: Logger
    private let loop: EventLoop
    private let drafting = DispatchQueue(label: "specula.worker.drafting")
    private var contexts: [UInt64: [Token]] = [:]
    /// Next-round drafts computed ahead, per request (see `draftAhead`).
    private var ahead: [UInt64: AheadDrafts] = [:]

    /// Drafts computed for a guessed next round, usable only if the real one has the same context,
    /// streams and settings and a block length no longer than these (blocks are then cut to it).
    private struct AheadDrafts {
        let context: [Token]
        let streamIDs: [UInt64]
        let seed: UInt64
        let length: Int
        let sampling: SamplingParameters
        let maxSupport: Int
        let blocks: [(tokens: [Token], rows: [WireSparseDistribution])]

        func blocks(for request: Speculate, context: [Token], streams: [UInt64], length: Int, sampling: SamplingParameters,
                    maxSupport: Int) -> [(tokens: [Token], rows: [WireSparseDistribution])]? {
            guard self.context == context, streamIDs == streams, seed == request.seed, self.length >= length,
                  self.sampling == sampling, self.maxSupport == maxSupport else { return nil }
            return blocks.map { (Array($0.tokens.prefix(length)), Array($0.rows.prefix(length))) }
        }
    }

    /// The newest Speculate per request as it arrived: its round and the context it names.
    private struct LatestSpeculate {
        let round: UInt64
        let position: Int
        let tokens: [Token]

        /// Whether this Speculate's context is `context` (for a worker holding `context`'s prefix).
        func names(_ context: [Token]) -> Bool {
            position + tokens.count == context.count && context[position...].elementsEqual(tokens)
        }
    }
    private var connector: Connector!
    /// The newest Speculate per request, written on the loop thread as it arrives: the drafting
    /// queue skips work for older rounds (their blocks would arrive too late to count) instead of
    /// falling further behind, and stops drafting ahead on a guess the new round proved wrong.
    private let latest = Mutex<[UInt64: LatestSpeculate]>([:])
    /// Whether this worker currently counts in the `connected` gauge.
    private let countedAsConnected = Atomic<Bool>(false)
    private let onRefused: @Sendable (String) -> Void

    /// `onRefused` runs (on the loop thread) when the coordinator refuses this worker at Hello.
    package init(model: ClusterModel, loop: EventLoop, host: String, port: Int, options: Options, logger: Logger, onRefused: @escaping @Sendable (String) -> Void) {
        self.model = model
        var drafter = Drafter(model: model)
        drafter.shipsWrongDistribution = options.shipsWrongDistribution
        self.drafter = drafter
        self.options = options
        self.logger = logger
        self.loop = loop
        self.onRefused = onRefused
        WorkerMetrics.declare(in: options.metrics)
        self.connector = Connector(
            loop: loop, host: host, port: port,
            onAttemptFailed: { [logger] error, retry in
                logger.info("cannot reach coordinator, retrying", metadata: ["error": "\(error)", "retry.ms": "\(Int(retry))"])
            },
            onConnect: { [unowned self] connection in handlers(for: connection) })
    }

    /// Measured drafting speed, announced in Hello so the coordinator can weight assignments.
    private lazy var tokensPerSecond: Double = drafter.measureTokensPerSecond()

    package func start() {
        _ = tokensPerSecond  // measure before the first connection, off the event loop
        connector.start()
    }
    package func stop() { connector.stop() }

    private func handlers(for connection: Connection) -> ConnectionHandlers {
        var hello = Hello()
        hello.role = .worker
        hello.nodeID = options.nodeID
        hello.modelFingerprint = model.fingerprint
        hello.tokenizerFingerprint = model.tokenizerFingerprint
        hello.vocabSize = UInt32(model.vocabularySize)
        hello.capabilities = Capabilities(maxDrafts: options.maxDrafts, maxBlockLength: options.maxBlockLength, draftTokensPerSecond: tokensPerSecond, maxRequests: 0)
        hello.authenticate(secret: options.authSecret)
        connection.send(.hello(hello))
        return ConnectionHandlers(
            onMessage: { [self] connection, message in receive(message, on: connection) },
            onClose: { [self] _, reason in
                if countedAsConnected.exchange(false, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, -1) }
                logger.info("disconnected from coordinator", metadata: ["reason": "\(reason)"])
                drafting.async { [self] in
                    contexts.removeAll()
                    ahead.removeAll()
                }
            })
    }

    private func receive(_ message: Message, on connection: Connection) {
        switch message {
        case .helloAck(let ack):
            if ack.accepted {
                if !countedAsConnected.exchange(true, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, 1) }
                logger.info("joined coordinator", metadata: ["coordinator": "\(ack.nodeID)", "peer": "\(connection.peer)"])
            } else {
                logger.error("coordinator refused this worker", metadata: ["reason": "\(ack.reason)"])
                connector.stop()
                onRefused(ack.reason)
            }
        case .speculate(let request):
            latest.withLock {
                guard ($0[request.requestID]?.round ?? 0) < request.round else { return }
                $0[request.requestID] = LatestSpeculate(round: request.round, position: Int(request.contextPosition), tokens: request.contextTokens.map(Int.init))
            }
            drafting.async { [self] in draft(request, on: connection) }
        case .accepted(let accepted):
            drafting.async { [self] in
                guard var context = contexts[accepted.requestID], context.count + accepted.tokens.count == Int(accepted.newPosition) else {
                    contexts[accepted.requestID] = nil  // out of sync: the coordinator resends the context
                    return
                }
                context += accepted.tokens.map(Int.init)
                contexts[accepted.requestID] = context
            }
        case .cancel(let cancel):
            latest.withLock { $0[cancel.requestID] = nil }
            drafting.async { [self] in
                contexts[cancel.requestID] = nil
                ahead[cancel.requestID] = nil
                options.metrics.set(WorkerMetrics.requests, Double(contexts.count), labels: ["worker": options.nodeID])
            }
        case .error(let error):
            logger.warning("coordinator reported an error", metadata: ["code": "\(error.code)", "message": "\(error.message)"])
        default:
            logger.debug("ignoring message", metadata: ["kind": "\(message.kind)"])
        }
    }

    /// Whether a newer Speculate for this request has arrived since `round` was asked.
    private func isStale(_ requestID: UInt64, round: UInt64) -> Bool {
        latest.withLock { ($0[requestID]?.round ?? 0) > round }
    }

    /// Runs on `drafting`.
    private func draft(_ request: Speculate, on connection: Connection) {
        var context = contexts[request.requestID] ?? []
        let position = Int(request.contextPosition)
        guard context.count >= position else {
            connection.send(.error(ErrorMessage(code: .badRequest, message: "worker has \(context.count) context tokens, Speculate assumes \(position)", requestID: request.requestID)))
            contexts[request.requestID] = nil
            return
        }
        context = Array(context.prefix(position)) + request.contextTokens.map(Int.init)
        contexts[request.requestID] = context
        // Keep the context in step, but do not draft for a round the coordinator has moved past.
        if isStale(request.requestID, round: request.round) {
            options.metrics.add(WorkerMetrics.staleSkipped)
            return
        }
        let sampling = SamplingParameters(wire: request.sampling)
        let drafts = min(Int(request.numDrafts), request.streamIDs.count, Int(options.maxDrafts))
        let streams = Array(request.streamIDs.prefix(drafts))
        let length = min(Int(request.blockLength), Int(options.maxBlockLength))
        let maxSupport = Int(request.maxSupport)
        // A block drafted ahead is exactly what drafting now would give (same context, stream,
        // model): reusing it changes nothing but the latency.
        let guessed = ahead.removeValue(forKey: request.requestID)?
            .blocks(for: request, context: context, streams: streams, length: length, sampling: sampling, maxSupport: maxSupport)
        let reuse = guessed != nil
        let started = ContinuousClock.now
        let blocks = guessed ?? drafter.blocks(after: context, length: length, sampling: sampling, maxSupport: maxSupport,
                                               streams: streams.map { RandomStream(seed: request.seed, stream: $0) })
        if !reuse { options.metrics.observe(WorkerMetrics.draftSeconds, (ContinuousClock.now - started) / .seconds(1)) }
        options.metrics.add(WorkerMetrics.blocks, Double(blocks.count), labels: ["drafted_ahead": reuse ? "true" : "false"])
        options.metrics.add(WorkerMetrics.tokens, Double(blocks.reduce(0) { $0 + $1.tokens.count }))
        options.metrics.set(WorkerMetrics.requests, Double(contexts.count), labels: ["worker": options.nodeID])
        for (j, drafted) in blocks.enumerated() {
            var block = DraftBlock()
            block.requestID = request.requestID
            block.round = request.round
            block.basePosition = UInt32(context.count)
            block.draftIndex = UInt32(j)
            block.tokens = drafted.tokens.map { UInt32($0) }
            block.distributions = drafted.rows
            block.draftedAhead = reuse
            connection.send(.draftBlock(block))
        }
        draftAhead(request, context: context, first: blocks.first?.tokens, length: length, sampling: sampling, maxSupport: maxSupport)
    }

    /// Drafts the next round now, guessing that the first draft is accepted whole and followed by
    /// the draft model's likeliest next token; gives up as soon as the next round's Speculate
    /// arrives with another context, so a wrong guess delays the real drafts by one token at most.
    /// Runs on `drafting`.
    private func draftAhead(_ request: Speculate, context: [Token], first: [Token]?, length: Int, sampling: SamplingParameters, maxSupport: Int) {
        guard !request.nextStreamIDs.isEmpty, let first, !first.isEmpty, first.last != model.endOfSequence,
              !isStale(request.requestID, round: request.round) else { return }
        var guess = context + first
        let bonus = model.model.distribution(after: guess).argmax
        guard bonus != model.endOfSequence else { return }
        guess.append(bonus)
        let streams = Array(request.nextStreamIDs.prefix(Int(options.maxDrafts)))
        let id = request.requestID, round = request.round
        let disproved = { [self] in
            latest.withLock { newest in newest[id].map { $0.round > round && !$0.names(guess) } ?? true }
        }
        let blocks = drafter.blocks(after: guess, length: length, sampling: sampling, maxSupport: maxSupport,
                                    streams: streams.map { RandomStream(seed: request.seed, stream: $0) }, until: disproved)
        // A block cut short (not by the end-of-sequence token) is not what drafting would give.
        guard blocks.allSatisfy({ $0.tokens.count == length || $0.tokens.last == model.endOfSequence }) else { return }
        ahead[id] = AheadDrafts(context: guess, streamIDs: streams, seed: request.seed, length: length, sampling: sampling, maxSupport: maxSupport, blocks: blocks)
    }
}
