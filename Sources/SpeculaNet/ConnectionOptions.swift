/// Limits and timers of one connection.
package struct ConnectionOptions: Sendable {
    /// Largest frame payload accepted from the peer; a larger length prefix closes the connection.
    package var maxFrameSize = WireProtocol.defaultMaxFrameSize
    /// Messages waiting to be written past which new stale ones (drafts, heartbeats) are dropped.
    package var writeQueueLimit = 4096
    /// Unsent bytes past which the connection is backed up (`Connection.isBackedUp`: its owner
    /// should stop producing for it, and stale messages are dropped); it is closed when they pass
    /// `hardWriteQueueBytes`, or stay backed up longer than `stallTimeoutMs` (0: never).
    package var writeQueueBytes = 4 << 20
    package var hardWriteQueueBytes = 32 << 20
    package var stallTimeoutMs: UInt64 = 15_000
    /// Close a connection whose owner has not called `Connection.completeHandshake()` this long
    /// after it opened, in milliseconds (0: never).
    package var handshakeTimeoutMs: UInt64 = 0
    /// How often to send a heartbeat, in milliseconds (0: never).
    package var heartbeatIntervalMs: UInt64 = 1000
    /// Close the connection when nothing was received for this long, in milliseconds (0: never).
    package var deadPeerTimeoutMs: UInt64 = 5000
    /// Where dropped frames are counted (`specula_dropped_frames_total`), if anywhere.
    package var metrics: MetricsRegistry?

    package init() {}

    /// Heartbeats every `milliseconds` and closes a connection silent for five of them: a peer
    /// that heartbeats at the same interval is never judged dead while it lives.
    package mutating func heartbeat(every milliseconds: UInt64) {
        heartbeatIntervalMs = milliseconds
        deadPeerTimeoutMs = milliseconds * 5
    }
}
