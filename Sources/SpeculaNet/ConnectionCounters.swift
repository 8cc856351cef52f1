package import Synchronization

/// Per-connection counters, readable from any thread.
package final class ConnectionCounters: Sendable {
    package let framesReceived = Atomic<Int>(0)
    package let framesSent = Atomic<Int>(0)
    package let bytesReceived = Atomic<Int>(0)
    package let bytesSent = Atomic<Int>(0)
    /// Stale messages dropped because the write queue was over its limit.
    package let droppedStale = Atomic<Int>(0)
    /// Round-trip time of the latest answered heartbeat, in microseconds.
    package let heartbeatRTTMicros = Atomic<Int>(0)

    package init() {}
}
