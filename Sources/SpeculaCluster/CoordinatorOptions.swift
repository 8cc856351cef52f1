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
    /// While a round's drafts are being made from scratch (its workers could not have drafted it
    /// ahead), the idle target decodes the round's first token itself; the drafts whose first
    /// token is that token then serve from the second on (`CoordinatorCore+DecodeWhileDrafting`).
    package var decodeWhileDrafting = true
    /// Deliberately wrong, for tests only (the negative control of decoding while drafting): after
    /// the target's own token, pairs each draft token with the row one position before its own.
    package var misalignsRowsAfterOwnToken = false
    /// Entries per shipped draft distribution (0: the whole support).
    package var maxSupport: UInt32 = 64
    /// When set, peers must prove knowledge of this secret in `Hello` (HMAC-SHA256 of their nonce).
    package var authSecret: String?
    package var connection = ConnectionOptions()
    /// Where the coordinator's metrics are recorded (served by `--metrics-port`).
    package var metrics = MetricsRegistry()

    package init() {}
}

