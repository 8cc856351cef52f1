package import SpeculaNet

/// Settings of a coordinator.
package struct CoordinatorOptions: Sendable {
    package var nodeID = "coordinator"
    /// How long a request waits for its drafts' next tokens before going on without the drafts
    /// that have not delivered, in milliseconds.
    package var waitDeadlineMs: UInt64 = 1000
    /// K and γ when a request leaves them at 0, and what a request may ask for.
    package var limits = GenerationSpec.Limits()
    /// Requests one client connection may have in flight; more are refused (`unavailable`).
    package var maxRequestsPerClient = 256
    /// Requests run at once, requests waiting, and the KV-cache budget (`AdmissionControl`).
    package var admission = AdmissionControl.Limits()
    /// Finished requests' KV caches are kept within the KV budget for requests whose prompt
    /// begins with the same tokens (`PromptCache`).
    package var promptCache = true
    /// Connections open at once (peers past it are refused at once), and how long a new one may
    /// take to send its `Hello` before it is closed.
    package var maxConnections = 1024
    package var handshakeTimeoutMs: UInt64 = 5000
    /// Checks a worker may fail (a token its row and stream do not produce, drafting past its
    /// lookahead, a malformed block) before it is disconnected.
    package var maxWorkerViolations = 3
    /// The share of rounds whose first draft is also drawn by another worker of the pool and
    /// compared row for row (`DraftAudit`); 0: no audits.
    package var auditFraction = 0.05
    /// While a request's drafts have no tokens yet (its first pass; after a rejection, while the
    /// workers draft from the new context), the otherwise idle target scores the newest token
    /// alone; its token is then drawn coupled with the drafts' first tokens
    /// (`SpeculationCore+Passes`). Off: the target waits for draft tokens.
    package var decodeWhileDrafting = true
    /// Whether workers draft while the target scores: they then run ahead to the lookahead 2γ + 1,
    /// drafting the next γ tokens during a pass. Off (one drafter that waits for each pass, as in
    /// `LocalGenerator`): the lookahead is γ + 1, so no token is drafted that a pass cannot use.
    package var draftsWhileScoring = true
    /// The target's pass cost before any pass is measured (every pass then refines it).
    package var initialPassCost = PassCostLine()
    /// How drafting is weighed against plain batching at each load (its epochs' lengths in passes).
    package var draftingPayoff = DraftingPayoff()
    /// Deliberately wrong, for tests only (the negative control of the batch's choices): a pass
    /// drops, for good, the drafts that hold this token among the tokens it would take, so which
    /// drafts take part depends on their content.
    package var dropsDraftsWithTokenForTesting: Int?
    /// Deliberately wrong, for tests only (the negative control of drafts that go on across
    /// passes): pairs each draft token after a draft's first with the row one position before
    /// its own.
    package var misalignsDraftRows = false
    /// Deliberately wrong, for tests only (the negative control of rounds with several pools):
    /// every request's rounds take drafts from every pool, and a pass merges them as drafts of one
    /// law (the first draft's row at each node, drafts outside it left out).
    package var poolsDraftsAsOneLaw = false
    /// Deliberately unsafe, for tests only (the negative control of the workers' checks): takes
    /// every draft token as its worker says, without drawing it again from its row and stream.
    package var trustsWorkers = false
    /// Entries per shipped draft distribution (0: the whole support).
    package var maxSupport: UInt32 = 64
    /// When set, peers must prove knowledge of this secret in `Hello`: an HMAC-SHA256 of the
    /// coordinator's per-connection `Challenge` and the Hello's fields (`HelloAuthentication`).
    package var authSecret: String?
    package var connection = ConnectionOptions()
    /// Where the coordinator's metrics are recorded (served by `--metrics-port`).
    package var metrics = MetricsRegistry()

    package init() {}
}

