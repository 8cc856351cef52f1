import Dispatch
import Synchronization
package import Logging
import SpeculaCore
package import SpeculaNet

/// A draft worker: connects to a coordinator (reconnecting with backoff), answers `Speculate` by
/// streaming each requested draft a token at a time as `DraftToken`s, and follows `Accepted` to
/// keep each request's context.
///
/// A draft is a stream: it keeps growing, a lockstep step at a time (`Drafter.step`), as long as
/// the tokens the coordinator accepts agree with it, up to its lookahead (`Speculate.lookahead`)
/// past the accepted context; a draft that disagrees with an accepted token stops, and the next
/// `Speculate` starts new ones. So when a target pass accepts everything it was given, the tokens
/// after it are usually already drafted (and sent).
///
/// Every draft token is sampled from exactly the sparse distribution shipped with it
/// (`SparseShipping`), using the random stream the coordinator named for that draft, so the K
/// drafts of a round are independent samples from one law. Drafting runs on a serial queue of its
/// own, never on the event-loop thread, one step per queue item so messages are handled between
/// steps and requests take turns.
package final class DraftWorker: @unchecked Sendable {
    // @unchecked Sendable invariant: `session`, `queued` and `connection` are only touched on
    // `drafting`; `connector` is set once in `init`, before any callback can run; the lazy
    // `tokensPerSecond` is computed in `start()` before the connector starts, and only read after.
    package struct Options: Sendable {
        package var nodeID = "worker"
        package var maxDrafts: UInt32 = 16
        package var maxBlockLength: UInt32 = 64
        /// A deliberate lie, for tests only (`Drafter.Lie`).
        package var lie: Drafter.Lie?
        /// The coordinator's shared secret, if it requires one.
        package var authSecret: String?
        /// Where this worker's metrics are recorded (served by `--metrics-port`).
        package var metrics = MetricsRegistry()
        package init() {}
    }

    private let drafter: Drafter
    private let options: Options
    private let logger: Logger
    private let loop: EventLoop
    private let drafting = DispatchQueue(label: "specula.worker.drafting")
    /// Every request's context and drafts (only on `drafting`).
    private var session: DraftSession
    /// Requests with a drafting step queued (only on `drafting`).
    private var queued: Set<UInt64> = []
    /// The connection drafts go out on (only on `drafting`).
    private var connection: Connection?

    /// The newest Speculate round per request, written on the loop thread as it arrives: the
    /// drafting queue stops stepping an older round at once instead of after the steps queued.
    private let latest = Mutex<[UInt64: UInt64]>([:])
    private var connector: Connector!
    /// Whether this worker currently counts in the `connected` gauge.
    private let countedAsConnected = Atomic<Bool>(false)
    private let onRefused: @Sendable (String) -> Void

    /// `onRefused` runs (on the loop thread) when the coordinator refuses this worker at Hello.
    package init(drafter: Drafter, loop: EventLoop, host: String, port: Int, options: Options, logger: Logger, onRefused: @escaping @Sendable (String) -> Void) {
        var drafter = drafter
        drafter.lie = options.lie
        self.drafter = drafter
        self.options = options
        self.logger = logger
        self.loop = loop
        self.onRefused = onRefused
        self.session = DraftSession(drafter: drafter, maxDrafts: Int(options.maxDrafts), maxLookahead: Int(options.maxBlockLength),
                                    metrics: options.metrics, nodeID: options.nodeID)
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
        hello.modelFingerprint = drafter.fingerprint
        hello.tokenizerFingerprint = drafter.tokenizerFingerprint
        hello.vocabSize = UInt32(drafter.vocabularySize)
        let maxDrafts = min(options.maxDrafts, drafter.maxDrafts.map(UInt32.init) ?? options.maxDrafts)
        let maxBlock = min(options.maxBlockLength, drafter.maxLength.map(UInt32.init) ?? options.maxBlockLength)
        hello.capabilities = Capabilities(maxDrafts: maxDrafts, maxBlockLength: maxBlock, draftTokensPerSecond: tokensPerSecond, maxRequests: 0)
        let greeting = HelloSender(hello, secret: options.authSecret)
        greeting.opened(connection)
        return ConnectionHandlers(
            onMessage: { [self] connection, message in
                if case .challenge(let challenge) = message { return greeting.answer(challenge, on: connection) }
                receive(message, on: connection)
            },
            onClose: { [self] _, reason in
                if countedAsConnected.exchange(false, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, -1) }
                logger.info("disconnected from coordinator", metadata: ["reason": "\(reason)"])
                drafting.async { [self] in session.reset() }
            })
    }

    private func receive(_ message: Message, on connection: Connection) {
        switch message {
        case .helloAck(let ack):
            if ack.accepted {
                connection.adoptHeartbeat(every: UInt64(ack.heartbeatIntervalMs))
                if !countedAsConnected.exchange(true, ordering: .relaxed) { options.metrics.add(WorkerMetrics.connected, 1) }
                logger.info("joined coordinator", metadata: ["coordinator": "\(ack.nodeID)", "peer": "\(connection.peer)"])
            } else {
                logger.error("coordinator refused this worker", metadata: ["reason": "\(ack.reason)"])
                connector.stop()
                onRefused(ack.reason)
            }
        case .speculate(let request):
            latest.withLock { $0[request.requestID] = max($0[request.requestID] ?? 0, request.round) }
            drafting.async { [self] in begin(request, on: connection) }
        case .accepted(let accepted):
            drafting.async { [self] in follow(accepted, on: connection) }
        case .cancel(let cancel):
            latest.withLock { $0[cancel.requestID] = nil }
            drafting.async { [self] in session.cancel(cancel.requestID) }
        case .error(let error):
            logger.warning("coordinator reported an error", metadata: ["code": "\(error.code)", "message": "\(error.message)"])
        default:
            logger.debug("ignoring message", metadata: ["kind": "\(message.kind)"])
        }
    }

    /// Whether a newer Speculate for this request has arrived since `round` was asked.
    private func isStale(_ requestID: UInt64, round: UInt64) -> Bool {
        latest.withLock { ($0[requestID] ?? 0) > round }
    }

    /// Starts a round's drafts from the context it names. Runs on `drafting`.
    private func begin(_ request: Speculate, on connection: Connection) {
        self.connection = connection
        if let error = session.begin(request, stale: isStale(request.requestID, round: request.round)) { return connection.send(.error(error)) }
        queueStep(request.requestID)
    }

    /// Advances a request's context by the tokens the coordinator accepted. Runs on `drafting`.
    private func follow(_ accepted: Accepted, on connection: Connection) {
        if let error = session.follow(accepted) { return connection.send(.error(error)) }
        queueStep(accepted.requestID)
    }

    private func queueStep(_ id: UInt64) {
        guard queued.insert(id).inserted else { return }
        drafting.async { [self] in step(id) }
    }

    /// One lockstep token for every draft of the request that can grow, each sent at once; queues
    /// the next step while a draft can still grow. Runs on `drafting`.
    private func step(_ id: UInt64) {
        queued.remove(id)
        guard let round = session.round(of: id), !isStale(id, round: round), let blocks = session.step(id) else { return }
        for block in blocks { connection?.send(.draftToken(block)) }
        queueStep(id)
    }
}
