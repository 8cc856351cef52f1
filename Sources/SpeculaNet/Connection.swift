import Foundation
import Synchronization

/// One TCP connection carrying framed `Message`s, driven by an `EventLoop`.
///
/// Reads are decoded incrementally; a frame that is too large or does not decode closes the
/// connection after telling the peer with an `Error` message. Writes go through a queue bounded in
/// messages and bytes: while it is over a limit, new stale messages (drafts, heartbeats) are
/// dropped and counted, control messages never are; the connection reports itself backed up
/// (`isBackedUp`, `onDrained` when it is not any more) so its owner stops producing for it, and a
/// peer that does not read is closed at the hard byte limit or after the stall timeout. Heartbeats
/// are sent and answered here; a peer silent for longer than the dead-peer timeout, or one whose
/// handshake its owner did not complete in time, is closed. Handlers run on the loop thread.
package final class Connection: @unchecked Sendable {
    // @unchecked Sendable invariant: every stored `var` and the uv handles are only touched on
    // `loop`'s thread; the public methods hop there. `counters` are atomics.
    package let id: UInt64
    package let loop: EventLoop
    package let counters = ConnectionCounters()
    /// The peer's "host:port".
    package let peer: String
    private let tcp: UVTCP
    private var options: ConnectionOptions
    private var decoder: FrameDecoder
    private var queue: [(frame: [UInt8], droppable: Bool)] = []
    private var queueHead = 0
    /// Bytes queued or being written, and since when (loop clock) they are over the soft limit.
    private var queuedBytes = 0
    private var backedUpSinceMs: UInt64?
    private let backedUp = Atomic<Bool>(false)
    private let handshaken = Atomic<Bool>(false)
    private var openedMs: UInt64 = 0
    private var writing = false
    private var closeAfterFlush: CloseReason?
    private var closed = false
    private var timer: UVTimer?
    private var lastHeardMs: UInt64 = 0
    private var heartbeatSequence: UInt64 = 0
    private var shutdownHook: UInt64?
    private var onMessage: ((Connection, Message) -> Void)?
    private var onClose: ((Connection, CloseReason) -> Void)?
    private var onDrained: ((Connection) -> Void)?

    private static let nextID = Atomic<UInt64>(1)

    init(loop: EventLoop, tcp: UVTCP, options: ConnectionOptions) {
        self.id = Connection.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.loop = loop
        self.tcp = tcp
        self.options = options
        self.peer = tcp.peerDescription
        self.decoder = FrameDecoder(maxFrameSize: options.maxFrameSize)
    }

    /// Starts reading and heartbeating. Loop thread only; called once by whoever made the
    /// connection, with the handlers set before the first byte can arrive.
    func start(_ handlers: ConnectionHandlers) {
        loop.preconditionOnLoopThread()
        onMessage = handlers.onMessage
        onClose = handlers.onClose
        onDrained = handlers.onDrained
        lastHeardMs = loop.nowMilliseconds
        openedMs = lastHeardMs
        shutdownHook = loop.addShutdownHook { [self] in close(.local("event loop shutting down")) }
        do {
            try tcp.setNoDelay()
            try tcp.startReading { [self] result in didRead(result) }
        } catch {
            close(.ioError(error))
            return
        }
        let tick = options.heartbeatIntervalMs > 0 ? options.heartbeatIntervalMs : 1000
        if let timer = try? loop.makeTimer() {
            self.timer = timer
            timer.start(after: tick, repeat: tick) { [self] in timerTick() }
        }
    }

    /// Heartbeats every `milliseconds` and judges the peer dead by the same rule as
    /// `ConnectionOptions.heartbeat(every:)`: a worker takes the interval its coordinator's
    /// `HelloAck` names, so both ends judge silence by one clock. Thread-safe; 0 changes nothing.
    package func adoptHeartbeat(every milliseconds: UInt64) {
        guard milliseconds > 0 else { return }
        loop.execute { [self] in
            guard !closed, milliseconds != options.heartbeatIntervalMs else { return }
            options.heartbeat(every: milliseconds)
            timer?.start(after: milliseconds, repeat: milliseconds) { [self] in timerTick() }
        }
    }

    /// Whether more than the soft limit of bytes waits to be written: the peer reads slower than
    /// it is sent to. Thread-safe.
    package var isBackedUp: Bool { backedUp.load(ordering: .relaxed) }

    /// The owner accepted the peer's handshake: the handshake deadline no longer applies.
    /// Thread-safe.
    package func completeHandshake() { handshaken.store(true, ordering: .relaxed) }

    /// Queues `message` for sending. Thread-safe; a no-op once the connection is closed.
    package func send(_ message: Message) {
        let frame = FrameEncoder.frame(message)
        let droppable = message.isDroppableWhenStale
        if loop.isOnLoopThread {
            enqueue(frame, droppable: droppable)
        } else {
            loop.execute { [self] in enqueue(frame, droppable: droppable) }
        }
    }

    /// Closes the connection. Thread-safe; idempotent. Queued messages are discarded.
    package func close(reason: String) {
        if loop.isOnLoopThread {
            close(.local(reason))
        } else {
            loop.execute { [self] in close(.local(reason)) }
        }
    }

    /// Sends `error`, then closes once it is written. Thread-safe.
    package func fail(_ error: ErrorMessage, reason: CloseReason) {
        let work: @Sendable () -> Void = { [self] in
            guard !closed, closeAfterFlush == nil else { return }
            enqueue(FrameEncoder.frame(.error(error)), droppable: false)
            closeAfterFlush = reason
            flush()
        }
        if loop.isOnLoopThread { work() } else { loop.execute(work) }
    }

    // MARK: - Loop thread

    private func didRead(_ result: Result<[UInt8], UVError>) {
        guard !closed, closeAfterFlush == nil else { return }
        switch result {
        case .failure(let error):
            close(error.isEndOfFile ? .peerClosed : .ioError(error))
        case .success(let bytes):
            lastHeardMs = loop.nowMilliseconds
            counters.bytesReceived.add(bytes.count, ordering: .relaxed)
            decoder.append(bytes)
            do {
                while !closed, closeAfterFlush == nil, let message = try decoder.nextMessage() {
                    counters.framesReceived.add(1, ordering: .relaxed)
                    handle(message)
                }
            } catch {
                fail(ErrorMessage(code: error.wireCode, message: error.description), reason: .protocolError(error))
            }
        }
    }

    private func handle(_ message: Message) {
        if case .heartbeat(let beat) = message {
            if beat.reply {
                let rtt = (UVLoop.monotonicNanoseconds &- beat.sentUnixNanos) / 1000
                counters.heartbeatRTTMicros.store(Int(clamping: rtt), ordering: .relaxed)
            } else {
                enqueue(FrameEncoder.frame(.heartbeat(Heartbeat(sequence: beat.sequence, sentUnixNanos: beat.sentUnixNanos, reply: true))), droppable: true)
            }
            return
        }
        onMessage?(self, message)
    }

    private func timerTick() {
        let now = loop.nowMilliseconds
        let silent = now &- lastHeardMs
        if options.deadPeerTimeoutMs > 0 && silent > options.deadPeerTimeoutMs {
            return close(.deadPeer(silentMs: silent))
        }
        if options.handshakeTimeoutMs > 0, !handshaken.load(ordering: .relaxed), now &- openedMs > options.handshakeTimeoutMs {
            return fail(ErrorMessage(code: .protocolViolation, message: "no Hello within \(options.handshakeTimeoutMs) ms"),
                        reason: .handshakeTimeout(ms: options.handshakeTimeoutMs))
        }
        if options.stallTimeoutMs > 0, let since = backedUpSinceMs, now &- since > options.stallTimeoutMs {
            return close(.notReading(queuedBytes: queuedBytes))
        }
        guard options.heartbeatIntervalMs > 0 else { return }
        heartbeatSequence += 1
        enqueue(FrameEncoder.frame(.heartbeat(Heartbeat(sequence: heartbeatSequence, sentUnixNanos: UVLoop.monotonicNanoseconds))), droppable: true)
    }

    private func enqueue(_ frame: [UInt8], droppable: Bool) {
        loop.preconditionOnLoopThread()
        guard !closed else { return }
        if droppable && (queue.count - queueHead >= options.writeQueueLimit || backedUpSinceMs != nil) {
            counters.droppedStale.add(1, ordering: .relaxed)
            options.metrics?.add(MetricsRegistry.droppedFrames)
            return
        }
        queue.append((frame, droppable))
        queuedBytes += frame.count
        if queuedBytes > options.hardWriteQueueBytes { return close(.notReading(queuedBytes: queuedBytes)) }
        if queuedBytes > options.writeQueueBytes && backedUpSinceMs == nil {
            backedUpSinceMs = loop.nowMilliseconds
            backedUp.store(true, ordering: .relaxed)
        }
        flush()
    }

    /// `count` queued bytes were written: below half the soft limit the connection is no longer
    /// backed up, and its owner hears so.
    private func wrote(_ count: Int) {
        queuedBytes -= count
        guard backedUpSinceMs != nil, queuedBytes <= options.writeQueueBytes / 2 else { return }
        backedUpSinceMs = nil
        backedUp.store(false, ordering: .relaxed)
        onDrained?(self)
    }

    /// Writes everything queued in one `uv_write`, then the next batch from the write callback.
    private func flush() {
        guard !writing, !closed else { return }
        guard queueHead < queue.count else {
            if let reason = closeAfterFlush { close(reason) }
            return
        }
        var bytes: [UInt8] = []
        var frames = 0
        while queueHead < queue.count && bytes.count < 1 << 20 {
            bytes.append(contentsOf: queue[queueHead].frame)
            queueHead += 1
            frames += 1
        }
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        }
        writing = true
        tcp.write(bytes) { [self] error in
            writing = false
            if let error {
                close(.ioError(error))
                return
            }
            counters.framesSent.add(frames, ordering: .relaxed)
            counters.bytesSent.add(bytes.count, ordering: .relaxed)
            wrote(bytes.count)
            if closed { return }
            flush()
        }
    }

    private func close(_ reason: CloseReason) {
        loop.preconditionOnLoopThread()
        guard !closed else { return }
        closed = true
        queue.removeAll()
        queueHead = 0
        timer?.close()
        timer = nil
        tcp.close()
        if let shutdownHook { loop.removeShutdownHook(shutdownHook) }
        queuedBytes = 0
        backedUp.store(false, ordering: .relaxed)
        let handler = onClose
        onMessage = nil
        onClose = nil
        onDrained = nil
        handler?(self, reason)
    }
}
