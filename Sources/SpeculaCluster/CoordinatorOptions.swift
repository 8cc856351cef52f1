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
    /// While a round's drafts are drafted from scratch, the target decodes a token by itself and
    /// keeps the drafts whose first token matches it (`CoordinatorCore.startSelfDecode`).
    package var selfDecodeWhileDrafting = true
    /// Negative control for tests only: keep drafts whose first token is not the target's own
    /// token too (several drafts then disagree on their rows at shared nodes: not lossless).
    package var selfDecodeKeepsMismatchedDrafts = false
    /// Entries per shipped draft distribution (0: the whole support).
    package var maxSupport: UInt32 = 64
    /// When set, peers must prove knowledge of this secret in `Hello` (HMAC-SHA256 of their nonce).
    package var authSecret: String?
    package var connection = ConnectionOptions()
    /// Where the coordinator's metrics are recorded (served by `--metrics-port`).
    package var metrics = MetricsRegistry()

    package init() {}
}

