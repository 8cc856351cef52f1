/// Swift value types for every message of `proto/specula.proto`.
///
/// They mirror the protobuf messages field by field (Swift names, `Int`-free widths as on the
/// wire) so the rest of the code never sees a C struct; `MessageCodec` converts them to and from
/// protobuf-c in one place. Defaults are proto3 defaults.

/// What a peer is to the coordinator.
package enum PeerRole: UInt32, Sendable, Hashable {
    case unspecified = 0
    case worker = 1
    case client = 2
    case coordinator = 3
}

/// A draft worker's capabilities, announced in `Hello`.
package struct Capabilities: Sendable, Hashable {
    package var maxDrafts: UInt32 = 0
    package var maxBlockLength: UInt32 = 0
    package var draftTokensPerSecond: Double = 0
    package var maxRequests: UInt32 = 0
    package init(maxDrafts: UInt32 = 0, maxBlockLength: UInt32 = 0, draftTokensPerSecond: Double = 0, maxRequests: UInt32 = 0) {
        self.maxDrafts = maxDrafts
        self.maxBlockLength = maxBlockLength
        self.draftTokensPerSecond = draftTokensPerSecond
        self.maxRequests = maxRequests
    }
}

/// First message from a peer.
package struct Hello: Sendable, Hashable {
    package var protocolVersion: UInt32 = WireProtocol.version
    package var role: PeerRole = .unspecified
    package var nodeID = ""
    package var modelFingerprint = ""
    package var tokenizerFingerprint = ""
    package var vocabSize: UInt32 = 0
    package var capabilities: Capabilities? = nil
    package var authToken = ""
    package init() {}
}

/// The coordinator's fresh nonce for one connection, which the peer's `Hello` must authenticate.
package struct Challenge: Sendable, Hashable {
    package var nonce: String
    package init(nonce: String) { self.nonce = nonce }
}

/// The coordinator's answer to `Hello`.
package struct HelloAck: Sendable, Hashable {
    package var protocolVersion: UInt32 = WireProtocol.version
    package var role: PeerRole = .coordinator
    package var nodeID = ""
    package var modelFingerprint = ""
    package var tokenizerFingerprint = ""
    package var vocabSize: UInt32 = 0
    package var accepted = false
    package var reason = ""
    package var heartbeatIntervalMs: UInt32 = 0
    /// The coordinator's model has a tokenizer: it takes text prompts (else only prompt tokens).
    package var textPrompts = false
    package init() {}
}

/// Liveness probe (`reply == false`) or its answer (`reply == true`, same sequence).
package struct Heartbeat: Sendable, Hashable {
    package var sequence: UInt64 = 0
    package var sentUnixNanos: UInt64 = 0
    package var reply = false
    package init(sequence: UInt64 = 0, sentUnixNanos: UInt64 = 0, reply: Bool = false) {
        self.sequence = sequence
        self.sentUnixNanos = sentUnixNanos
        self.reply = reply
    }
}

/// The request's sampling transform on the wire.
package struct WireSampling: Sendable, Hashable {
    package var temperature: Double = 0
    package var topK: UInt32 = 0
    package var topP: Double = 0
    package var minP: Double = 0
    package init(temperature: Double = 0, topK: UInt32 = 0, topP: Double = 0, minP: Double = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
    }
}

/// Coordinator → worker: start `numDrafts` drafts from the context it names (a new round). Each
/// streams a token at a time and goes on while the accepted tokens agree with it, at most
/// `lookahead` tokens past the accepted context.
package struct Speculate: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var round: UInt64 = 0
    package var contextTokens: [UInt32] = []
    package var contextPosition: UInt32 = 0
    package var numDrafts: UInt32 = 0
    /// How far a draft may run past the accepted context, 2γ + 1 (the wire's `block_length`).
    package var lookahead: UInt32 = 0
    package var sampling: WireSampling? = nil
    package var streamIDs: [UInt64] = []
    package var seed: UInt64 = 0
    package var maxSupport: UInt32 = 0
    package init() {}
}

/// A sparse distribution on the wire: `tokenIDs[i]` has probability `probabilities[i]`.
package struct WireSparseDistribution: Sendable, Hashable {
    package var tokenIDs: [UInt32] = []
    package var probabilities: [Float] = []
    package init(tokenIDs: [UInt32] = [], probabilities: [Float] = []) {
        self.tokenIDs = tokenIDs
        self.probabilities = probabilities
    }
}

/// Worker → coordinator: the next token of one draft, at `basePosition` (a context position), and
/// the distribution it was drawn from (the wire's `DraftBlock`; it may carry several tokens, but
/// drafts stream one at a time).
package struct DraftToken: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var round: UInt64 = 0
    package var basePosition: UInt32 = 0
    package var draftIndex: UInt32 = 0
    package var tokens: [UInt32] = []
    package var distributions: [WireSparseDistribution] = []
    /// The draft ends at `basePosition` (no tokens): its drafter has nothing to propose there.
    package var ended = false
    /// A model-free draft's renewals so far: it starts again from the accepted context where it
    /// disagreed with it or had ended.
    package var generation: UInt32 = 0
    package init() {}
}

/// Coordinator → workers: the tokens accepted in a round (incl. the corrected/bonus token).
package struct Accepted: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var round: UInt64 = 0
    package var tokens: [UInt32] = []
    package var newPosition: UInt32 = 0
    package init() {}
}

/// Client → coordinator: start a generation.
package struct GenerateRequest: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var prompt = ""
    package var promptTokens: [UInt32] = []
    package var maxTokens: UInt32 = 0
    package var sampling: WireSampling? = nil
    package var seed: UInt64 = 0
    package var verifier = ""
    package var numDrafts: UInt32 = 0
    package var blockLength: UInt32 = 0
    package var stop: [String] = []
    package var chat = false
    package var allowLossy = false
    /// Plain target decoding (no drafts), for comparisons.
    package var noDraft = false
    /// A chat, rendered with the target's chat template (`prompt` and `chat` then unused).
    package var messages: [WireChatMessage] = []
    package init() {}
}

/// One message of a chat (`Generate.messages`).
package struct WireChatMessage: Sendable, Hashable {
    package var role: String
    package var content: String
    package init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// What one target pass did for one request: its drafts, depth and acceptance, what it waited
/// and cost (the wire's `RoundStats`), sent with the tokens it yielded.
package struct PassStats: Sendable, Hashable {
    package var round: UInt64 = 0
    package var drafts: UInt32 = 0
    /// Draft tokens per draft the pass scored (its tree's depth; the wire's `block_length`).
    package var depth: UInt32 = 0
    package var accepted: UInt32 = 0
    package var draftIndex: Int32 = 0
    package var targetMicros: Double = 0
    package var waitMicros: Double = 0
    /// Requests in the target pass.
    package var batchSize: UInt32 = 0
    /// Inputs of the coordinator's choice of K and γ (`adaptive` rounds).
    package var acceptanceEstimate: Double = 0
    package var passCostFixedMicros: Double = 0
    package var passCostPerTokenMicros: Double = 0
    package var adaptive = false
    /// Drafts of this pass that already took part in an earlier pass of their round.
    package var continuedDrafts: UInt32 = 0
    /// The coordinator's estimate of its wait for drafts per block token, in rounds of this
    /// round's number of drafts.
    package var draftWaitPerTokenMicros: Double = 0
    /// A pass of the newest token alone, while the drafts had no token past it yet (the target
    /// would have idled): no drafts; the token drawn from its row comes with these stats.
    package var decodedWhileDrafting = false
    /// The pools (draft-law fingerprints) whose drafts the pass verified, in the verifier's order.
    package var pools: [String] = []
    package init() {}
}

/// Coordinator → client: newly generated tokens.
package struct TokenChunk: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var tokens: [UInt32] = []
    package var text = ""
    /// One entry per target pass that yielded these tokens (the wire's `rounds`).
    package var passes: [PassStats] = []
    package init() {}
}

/// Why a generation ended.
package enum FinishReason: UInt32, Sendable, Hashable {
    case unspecified = 0, length, stop, endOfSequence, cancelled, error
}

/// Coordinator → client: the request ended.
package struct Done: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var reason: FinishReason = .unspecified
    package var promptTokens: UInt32 = 0
    package var generatedTokens: UInt32 = 0
    package var rounds: UInt64 = 0
    package var targetPasses: UInt64 = 0
    package var acceptedDraftTokens: UInt64 = 0
    package var elapsedSeconds: Double = 0
    package init() {}
}

/// Stop a generation (client → coordinator) or drop a request's state (coordinator → worker).
package struct Cancel: Sendable, Hashable {
    package var requestID: UInt64 = 0
    package var reason = ""
    package init(requestID: UInt64 = 0, reason: String = "") {
        self.requestID = requestID
        self.reason = reason
    }
}

/// Error codes on the wire.
package enum WireErrorCode: UInt32, Sendable, Hashable {
    case unspecified = 0, malformedFrame, frameTooLarge, unauthenticated, incompatible, badRequest, unavailable, internalError, protocolViolation
    /// At capacity (requests running and queued, or KV-cache memory): retry later.
    case overloaded
}

/// Something went wrong; `requestID` 0 means the connection as a whole.
package struct ErrorMessage: Sendable, Hashable {
    package var code: WireErrorCode = .unspecified
    package var message = ""
    package var requestID: UInt64 = 0
    package init(code: WireErrorCode = .unspecified, message: String = "", requestID: UInt64 = 0) {
        self.code = code
        self.message = message
        self.requestID = requestID
    }
}

/// The one message on the wire: protobuf's `Envelope` oneof.
package enum Message: Sendable, Hashable {
    case hello(Hello)
    case helloAck(HelloAck)
    case heartbeat(Heartbeat)
    case speculate(Speculate)
    case draftToken(DraftToken)
    case accepted(Accepted)
    case generate(GenerateRequest)
    case tokenChunk(TokenChunk)
    case done(Done)
    case cancel(Cancel)
    case error(ErrorMessage)
    case challenge(Challenge)

    /// A short name for logs and counters.
    package var kind: String {
        switch self {
        case .hello: "Hello"
        case .helloAck: "HelloAck"
        case .heartbeat: "Heartbeat"
        case .speculate: "Speculate"
        case .draftToken: "DraftBlock"
        case .accepted: "Accepted"
        case .generate: "Generate"
        case .tokenChunk: "TokenChunk"
        case .done: "Done"
        case .cancel: "Cancel"
        case .error: "Error"
        case .challenge: "Challenge"
        }
    }

    /// Messages that a newer one makes useless, so a full write queue may drop them (design.md:
    /// "an Accepted makes older drafts useless anyway"). Control messages are never dropped.
    package var isDroppableWhenStale: Bool {
        switch self {
        case .draftToken, .speculate, .heartbeat: true
        default: false
        }
    }
}

/// Protocol constants.
package enum WireProtocol {
    /// Bumped on any incompatible change to `proto/specula.proto`.
    package static let version: UInt32 = 1
    /// Default cap on one frame's payload (16 MiB), checked before any allocation.
    package static let defaultMaxFrameSize = 16 << 20
}
