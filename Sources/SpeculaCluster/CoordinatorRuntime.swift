import Dispatch
package import Logging
package import SpeculaNet

/// A running coordinator: the shell that connects `SpeculationCore` to the network. It listens,
/// turns connections, target passes and timers into the core's events — in one ordered stream,
/// on one actor — and carries out the actions the core returns. All logic lives in the core.
package final class CoordinatorServer: Sendable {
    package let listener: Listener
    private let runner: Task<Void, Never>
    private let events: AsyncStream<CoordinatorEvent>.Continuation

    package init(target: ClusterModel, loop: EventLoop, host: String, port: Int, options: CoordinatorOptions, logger: Logger) throws(UVError) {
        let (stream, events) = AsyncStream<CoordinatorEvent>.makeStream()
        let runtime = CoordinatorRuntime(target: target, options: options, logger: logger, events: events)
        runner = Task { await runtime.run(stream) }
        self.events = events
        var connection = options.connection
        connection.handshakeTimeoutMs = options.handshakeTimeoutMs
        listener = try Listener(loop: loop, host: host, port: port, options: connection, maxConnections: options.maxConnections) { connection in
            events.yield(.opened(connection))
            return ConnectionHandlers(
                onMessage: { connection, message in events.yield(.message(connection, message)) },
                onClose: { connection, reason in events.yield(.closed(connection, reason)) },
                onDrained: { connection in events.yield(.drained(connection)) })
        }
    }

    package var port: Int { listener.port }

    /// A new client inside this process (the HTTP API's, one per request).
    package func attachClient() -> InProcessClient { InProcessClient(events: events) }
}

/// The actor that owns the core, the connections by peer id, and the target scorer.
actor CoordinatorRuntime {
    private var core: SpeculationCore
    private var connections: [UInt64: any CoordinatorPeer] = [:]
    private let scorer: any TargetScorer
    private let options: CoordinatorOptions
    private let events: AsyncStream<CoordinatorEvent>.Continuation
    /// Where target passes run: off the actor, off the cooperative thread pool.
    private let scoringQueue = DispatchQueue(label: "specula.coordinator.scoring")

    init(target: ClusterModel, options: CoordinatorOptions, logger: Logger, events: AsyncStream<CoordinatorEvent>.Continuation) {
        self.core = SpeculationCore(target: target, options: options, logger: logger)
        self.scorer = target.makeScorer(promptCacheBytes: options.promptCache ? options.admission.kvCacheBytes : nil)
        self.options = options
        self.events = events
    }

    func run(_ stream: AsyncStream<CoordinatorEvent>) async {
        for await event in stream {
            let now = ContinuousClock.now
            switch event {
            case .opened(let connection):
                connections[connection.id] = connection
                perform(core.opened(connection.id, challenge: options.authSecret.map { _ in HelloAuthentication.freshChallenge() }))
            case .attached(let client):
                connections[client.id] = client
                perform(core.attachedClient(client.id))
            case .message(let connection, let message):
                perform(core.received(message, from: connection.id, at: now))
            case .closed(let connection, let reason):
                connections[connection.id] = nil
                perform(core.closed(connection.id, reason: reason))
            case .drained:
                break
            case .waitDeadline(let request, let wait):
                perform(core.waitDeadline(request: request, wait: wait, at: now))
            case .scored(let pass, let rows, let duration):
                let verifying = ContinuousClock.now
                perform(core.passFinished(pass, rows: rows, duration: duration, at: now))
                options.metrics.observe(CoordinatorMetrics.verifierSeconds, (ContinuousClock.now - verifying) / .seconds(1))
            }
            perform(core.schedule(at: now, paused: Set(connections.filter { $0.value.isBackedUp }.keys)))
        }
    }

    private func perform(_ actions: [SpeculationAction]) {
        for action in actions {
            switch action {
            case .send(let message, let peer):
                connections[peer]?.send(message)
            case .disconnect(let peer, let error):
                connections[peer]?.fail(error, reason: .local(error.message))
            case .admit(let peer):
                connections[peer]?.completeHandshake()
            case .score(let pass):
                let (scorer, events, metrics) = (self.scorer, self.events, options.metrics)
                scoringQueue.async {
                    let start = ContinuousClock.now
                    let rows = scorer.scoreBatch(pass.items)
                    let duration = ContinuousClock.now - start
                    metrics.observe(CoordinatorMetrics.targetPassSeconds, duration / .seconds(1))
                    events.yield(.scored(pass, rows: rows, duration: duration))
                }
            case .commit(let request, let nodes):
                scorer.accept(request: request, nodes: nodes)
            case .release(let request):
                scorer.release(request: request)
            case .armDeadline(let request, let wait, let delay):
                let events = self.events
                Task {
                    try? await Task.sleep(for: delay)
                    events.yield(.waitDeadline(request: request, wait: wait))
                }
            }
        }
    }
}
