package import SpeculaNet

/// Settings of a coordinator.
package struct CoordinatorOptions: Sendable {
    package var nodeID = "coordinator"
    /// How long a round waits for its drafts before verifying with what arrived, in milliseconds.
    package var roundDeadlineMs: UInt64 = 1000
    /// K and γ when a request leaves them at 0.
    package var defaultDrafts = 2
    package var defaultBlockLength = 4
    /// Upper bounds a request may ask for.
    package var maxDrafts = 16
    package var maxBlockLength = 32
    /// Entries per shipped draft distribution (0: the whole support).
    package var maxSupport: UInt32 = 64
    /// When set, peers must prove knowledge of this secret in `Hello` (HMAC-SHA256 of their nonce).
    package var authSecret: String?
    package var connection = ConnectionOptions()
    /// Where the coordinator's metrics are recorded (served by `--metrics-port`).
    package var metrics = MetricsRegistry()

    package init() {}
}

