/// Limits and timers of one connection.
package struct ConnectionOptions: Sendable {
    /// Largest frame payload accepted from the peer; a larger length prefix closes the connection.
    package var maxFrameSize = WireProtocol.defaultMaxFrameSize
    /// Messages waiting to be written before the oldest stale ones (drafts, heartbeats) are dropped.
    package var writeQueueLimit = 4096
    /// How often to send a heartbeat, in milliseconds (0: never).
    package var heartbeatIntervalMs: UInt64 = 1000
    /// Close the connection when nothing was received for this long, in milliseconds (0: never).
    package var deadPeerTimeoutMs: UInt64 = 5000
    /// Where dropped frames are counted (`specula_dropped_frames_total`), if anywhere.
    package var metrics: MetricsRegistry?

    package init() {}
}
