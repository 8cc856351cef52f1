import SpeculaCore
import SpeculaNet

/// The handshake: a peer's first message must be a `Hello` that speaks this protocol, answers
/// the challenge (with a secret) and, for a worker, shares the target's tokenizer (or, drafting
/// without a model, announces none) and is not quarantined; the `HelloAck` says welcome or why not.
extension SpeculationCore {
    mutating func greet(_ message: Message, challenge: Challenge?, from peer: UInt64) {
        guard case .hello(let hello) = message else {
            return refuse(peer, code: .protocolViolation, "the first message must be Hello, got \(message.kind)")
        }
        var ack = HelloAck()
        ack.nodeID = options.nodeID
        ack.modelFingerprint = target.fingerprint
        ack.tokenizerFingerprint = target.tokenizerFingerprint
        ack.vocabSize = UInt32(target.vocabularySize)
        ack.textPrompts = target.tokenizer != nil
        ack.heartbeatIntervalMs = UInt32(options.connection.heartbeatIntervalMs)
        if let why = refusal(of: hello, challenge: challenge) {
            ack.reason = why.reason
            send(.helloAck(ack), to: peer)
            return refuse(peer, code: why.code, why.reason)
        }
        if hello.role == .worker {
            let capabilities = hello.capabilities
            workers.join(peer, WorkerRegistry.WorkerState(
                nodeID: hello.nodeID, fingerprint: hello.modelFingerprint, tokensPerSecond: capabilities?.draftTokensPerSecond ?? 0,
                maxDrafts: Int(capabilities?.maxDrafts ?? 0), modelFree: hello.tokenizerFingerprint.isEmpty && hello.vocabSize == 0), metrics: metrics)
            logger.info("worker joined", metadata: ["worker": "\(hello.nodeID)", "peer": "\(peer)", "draft.fingerprint": "\(hello.modelFingerprint)"])
        } else {
            requests.addClient(peer)
        }
        ack.accepted = true
        ack.reason = "welcome"
        outbox.append(.admit(peer))
        send(.helloAck(ack), to: peer)
    }

    /// Why a Hello is refused, or nil when it is welcome.
    private func refusal(of hello: Hello, challenge: Challenge?) -> (code: WireErrorCode, reason: String)? {
        guard hello.protocolVersion == WireProtocol.version else {
            return (.incompatible, "protocol version \(hello.protocolVersion) is not supported (coordinator speaks \(WireProtocol.version))")
        }
        if let secret = options.authSecret {
            guard let challenge, HelloAuthentication.isAuthentic(hello, challenge: challenge.nonce, secret: secret) else {
                return (.unauthenticated, "authentication failed: Hello must carry the HMAC-SHA256, under the shared secret, of this connection's Challenge and its own fields")
            }
        }
        switch hello.role {
        case .worker:
            guard !workers.quarantined.contains(hello.nodeID) else {
                return (.unauthenticated, "worker \(hello.nodeID) is quarantined: an audit found its drafts' rows wrong")
            }
            // A model-free drafter (prompt lookup, suffix) works on token ids: it announces no
            // tokenizer, and every token it ships is checked against the vocabulary on arrival.
            let modelFree = hello.tokenizerFingerprint.isEmpty && hello.vocabSize == 0
            guard modelFree || (hello.tokenizerFingerprint == target.tokenizerFingerprint && Int(hello.vocabSize) == target.vocabularySize) else {
                return (.incompatible, "tokenizer mismatch: worker has \(hello.tokenizerFingerprint) (\(hello.vocabSize) tokens), target has \(target.tokenizerFingerprint) (\(target.vocabularySize) tokens)")
            }
            return nil
        case .client:
            return nil
        default:
            return (.protocolViolation, "role \(hello.role) cannot join a coordinator")
        }
    }
}
