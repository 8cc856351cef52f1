internal import CProtobufC
internal import SpeculaProto

/// Converts `Message` values to and from protobuf `Envelope` bytes through protobuf-c: the one
/// place that touches the generated C structs.
///
/// Encoding builds the C message tree in a `CArena` and packs it; decoding unpacks with
/// protobuf-c's own validation and copies every field into Swift values before freeing the C tree.
/// Both are pure functions, safe from any thread.
package enum MessageCodec {
    /// The protobuf encoding of `message` as an `Envelope` (no length prefix).
    package static func encode(_ message: Message) -> [UInt8] {
        encode(message, reservingPrefix: 0)
    }

    /// The encoding of `message` after `prefix` zero bytes that the caller fills in (the frame
    /// header), so a frame needs a single allocation.
    static func encode(_ message: Message, reservingPrefix prefix: Int) -> [UInt8] {
        let arena = CArena()
        let envelope = arena.allocate(Specula__Envelope.self)
        specula__envelope__init(envelope)
        fill(envelope, with: message, arena: arena)
        let size = specula__envelope__get_packed_size(envelope)
        var bytes = [UInt8](repeating: 0, count: prefix + size)
        bytes.withUnsafeMutableBufferPointer { buffer in
            // Do not escape the pointer: protobuf-c writes `size` bytes after the prefix.
            _ = specula__envelope__pack(envelope, buffer.baseAddress! + prefix)
        }
        return bytes
    }

    /// Decodes one `Envelope`. Malformed bytes, an empty envelope or a missing sub-message throw
    /// `FrameError.malformed`; nothing is trusted before protobuf-c has validated it.
    package static func decode(_ bytes: some Collection<UInt8>) throws(FrameError) -> Message {
        let contiguous = Array(bytes)
        let result: Result<Message, FrameError> = contiguous.withUnsafeBufferPointer { buffer in
            guard let envelope = specula__envelope__unpack(nil, buffer.count, buffer.baseAddress) else {
                return .failure(.malformed("protobuf-c could not unpack a \(buffer.count)-byte envelope"))
            }
            defer { specula__envelope__free_unpacked(envelope, nil) }
            return read(envelope.pointee)
        }
        return try result.get()
    }

    // MARK: - Swift → C

    private static func fill(_ envelope: UnsafeMutablePointer<Specula__Envelope>, with message: Message, arena: CArena) {
        switch message {
        case .hello(let v):
            let m = arena.allocate(Specula__Hello.self)
            specula__hello__init(m)
            m.pointee.protocol_version = v.protocolVersion
            m.pointee.role = Specula__Role(rawValue: v.role.rawValue)
            m.pointee.node_id = arena.string(v.nodeID)
            m.pointee.model_fingerprint = arena.string(v.modelFingerprint)
            m.pointee.tokenizer_fingerprint = arena.string(v.tokenizerFingerprint)
            m.pointee.vocab_size = v.vocabSize
            if let c = v.capabilities {
                let cap = arena.allocate(Specula__Capabilities.self)
                specula__capabilities__init(cap)
                cap.pointee.max_drafts = c.maxDrafts
                cap.pointee.max_block_length = c.maxBlockLength
                cap.pointee.draft_tokens_per_second = c.draftTokensPerSecond
                cap.pointee.max_requests = c.maxRequests
                m.pointee.capabilities = cap
            }
            m.pointee.auth_token = arena.string(v.authToken)
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_HELLO
            envelope.pointee.hello = m
        case .helloAck(let v):
            let m = arena.allocate(Specula__HelloAck.self)
            specula__hello_ack__init(m)
            m.pointee.protocol_version = v.protocolVersion
            m.pointee.role = Specula__Role(rawValue: v.role.rawValue)
            m.pointee.node_id = arena.string(v.nodeID)
            m.pointee.model_fingerprint = arena.string(v.modelFingerprint)
            m.pointee.tokenizer_fingerprint = arena.string(v.tokenizerFingerprint)
            m.pointee.vocab_size = v.vocabSize
            m.pointee.accepted = v.accepted ? 1 : 0
            m.pointee.reason = arena.string(v.reason)
            m.pointee.heartbeat_interval_ms = v.heartbeatIntervalMs
            m.pointee.text_prompts = v.textPrompts ? 1 : 0
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_HELLO_ACK
            envelope.pointee.hello_ack = m
        case .heartbeat(let v):
            let m = arena.allocate(Specula__Heartbeat.self)
            specula__heartbeat__init(m)
            m.pointee.sequence = v.sequence
            m.pointee.sent_unix_nanos = v.sentUnixNanos
            m.pointee.reply = v.reply ? 1 : 0
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_HEARTBEAT
            envelope.pointee.heartbeat = m
        case .speculate(let v):
            let m = arena.allocate(Specula__Speculate.self)
            specula__speculate__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.round = v.round
            m.pointee.n_context_tokens = v.contextTokens.count
            m.pointee.context_tokens = arena.copy(v.contextTokens)
            m.pointee.context_position = v.contextPosition
            m.pointee.num_drafts = v.numDrafts
            m.pointee.block_length = v.lookahead
            m.pointee.sampling = v.sampling.map { sampling($0, arena) }
            m.pointee.n_stream_ids = v.streamIDs.count
            m.pointee.stream_ids = arena.copy(v.streamIDs)
            m.pointee.seed = v.seed
            m.pointee.max_support = v.maxSupport
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_SPECULATE
            envelope.pointee.speculate = m
        case .draftToken(let v):
            let m = arena.allocate(Specula__DraftBlock.self)
            specula__draft_block__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.round = v.round
            m.pointee.base_position = v.basePosition
            m.pointee.draft_index = v.draftIndex
            m.pointee.ended = v.ended ? 1 : 0
            m.pointee.generation = v.generation
            m.pointee.n_tokens = v.tokens.count
            m.pointee.tokens = arena.copy(v.tokens)
            m.pointee.n_distributions = v.distributions.count
            m.pointee.distributions = arena.copy(v.distributions.map { d -> UnsafeMutablePointer<Specula__SparseDistribution>? in
                let s = arena.allocate(Specula__SparseDistribution.self)
                specula__sparse_distribution__init(s)
                s.pointee.n_token_ids = d.tokenIDs.count
                s.pointee.token_ids = arena.copy(d.tokenIDs)
                s.pointee.n_probabilities = d.probabilities.count
                s.pointee.probabilities = arena.copy(d.probabilities)
                return s
            })
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_DRAFT_BLOCK
            envelope.pointee.draft_block = m
        case .accepted(let v):
            let m = arena.allocate(Specula__Accepted.self)
            specula__accepted__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.round = v.round
            m.pointee.n_tokens = v.tokens.count
            m.pointee.tokens = arena.copy(v.tokens)
            m.pointee.new_position = v.newPosition
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_ACCEPTED
            envelope.pointee.accepted = m
        case .generate(let v):
            let m = arena.allocate(Specula__Generate.self)
            specula__generate__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.prompt = arena.string(v.prompt)
            m.pointee.n_prompt_tokens = v.promptTokens.count
            m.pointee.prompt_tokens = arena.copy(v.promptTokens)
            m.pointee.max_tokens = v.maxTokens
            m.pointee.sampling = v.sampling.map { sampling($0, arena) }
            m.pointee.seed = v.seed
            m.pointee.verifier = arena.string(v.verifier)
            m.pointee.num_drafts = v.numDrafts
            m.pointee.block_length = v.blockLength
            m.pointee.n_stop = v.stop.count
            m.pointee.stop = arena.copy(v.stop.map { Optional(arena.string($0)) })
            m.pointee.chat = v.chat ? 1 : 0
            m.pointee.allow_lossy = v.allowLossy ? 1 : 0
            m.pointee.no_draft = v.noDraft ? 1 : 0
            m.pointee.n_messages = v.messages.count
            m.pointee.messages = arena.copy(v.messages.map { message -> UnsafeMutablePointer<Specula__ChatMessage>? in
                let c = arena.allocate(Specula__ChatMessage.self)
                specula__chat_message__init(c)
                c.pointee.role = arena.string(message.role)
                c.pointee.content = arena.string(message.content)
                return c
            })
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_GENERATE
            envelope.pointee.generate = m
        case .tokenChunk(let v):
            let m = arena.allocate(Specula__TokenChunk.self)
            specula__token_chunk__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.n_tokens = v.tokens.count
            m.pointee.tokens = arena.copy(v.tokens)
            m.pointee.text = arena.string(v.text)
            m.pointee.n_rounds = v.passes.count
            m.pointee.rounds = arena.copy(v.passes.map { r -> UnsafeMutablePointer<Specula__RoundStats>? in
                let s = arena.allocate(Specula__RoundStats.self)
                specula__round_stats__init(s)
                s.pointee.round = r.round
                s.pointee.drafts = r.drafts
                s.pointee.block_length = r.depth
                s.pointee.accepted = r.accepted
                s.pointee.draft_index = r.draftIndex
                s.pointee.target_micros = r.targetMicros
                s.pointee.wait_micros = r.waitMicros
                s.pointee.batch_size = r.batchSize
                s.pointee.acceptance_estimate = r.acceptanceEstimate
                s.pointee.pass_cost_fixed_micros = r.passCostFixedMicros
                s.pointee.pass_cost_per_token_micros = r.passCostPerTokenMicros
                s.pointee.adaptive = r.adaptive ? 1 : 0
                s.pointee.continued_drafts = r.continuedDrafts
                s.pointee.draft_wait_per_token_micros = r.draftWaitPerTokenMicros
                s.pointee.decoded_while_drafting = r.decodedWhileDrafting ? 1 : 0
                s.pointee.n_pools = r.pools.count
                s.pointee.pools = arena.copy(r.pools.map { Optional(arena.string($0)) })
                return s
            })
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_TOKEN_CHUNK
            envelope.pointee.token_chunk = m
        case .done(let v):
            let m = arena.allocate(Specula__Done.self)
            specula__done__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.reason = Specula__FinishReason(rawValue: v.reason.rawValue)
            m.pointee.prompt_tokens = v.promptTokens
            m.pointee.generated_tokens = v.generatedTokens
            m.pointee.rounds = v.rounds
            m.pointee.target_passes = v.targetPasses
            m.pointee.accepted_draft_tokens = v.acceptedDraftTokens
            m.pointee.elapsed_seconds = v.elapsedSeconds
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_DONE
            envelope.pointee.done = m
        case .cancel(let v):
            let m = arena.allocate(Specula__Cancel.self)
            specula__cancel__init(m)
            m.pointee.request_id = v.requestID
            m.pointee.reason = arena.string(v.reason)
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_CANCEL
            envelope.pointee.cancel = m
        case .error(let v):
            let m = arena.allocate(Specula__Error.self)
            specula__error__init(m)
            m.pointee.code = Specula__ErrorCode(rawValue: v.code.rawValue)
            m.pointee.message = arena.string(v.message)
            m.pointee.request_id = v.requestID
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_ERROR
            envelope.pointee.error = m
        case .challenge(let v):
            let m = arena.allocate(Specula__Challenge.self)
            specula__challenge__init(m)
            m.pointee.nonce = arena.string(v.nonce)
            envelope.pointee.body_case = SPECULA__ENVELOPE__BODY_CHALLENGE
            envelope.pointee.challenge = m
        }
    }

    private static func sampling(_ v: WireSampling, _ arena: CArena) -> UnsafeMutablePointer<Specula__SamplingParams> {
        let s = arena.allocate(Specula__SamplingParams.self)
        specula__sampling_params__init(s)
        s.pointee.temperature = v.temperature
        s.pointee.top_k = v.topK
        s.pointee.top_p = v.topP
        s.pointee.min_p = v.minP
        return s
    }

    // MARK: - C → Swift

    private static func read(_ e: Specula__Envelope) -> Result<Message, FrameError> {
        switch e.body_case {
        case SPECULA__ENVELOPE__BODY_HELLO:
            guard let m = e.hello?.pointee else { return .failure(.malformed("Hello body missing")) }
            var v = Hello()
            v.protocolVersion = m.protocol_version
            v.role = PeerRole(rawValue: m.role.rawValue) ?? .unspecified
            v.nodeID = string(m.node_id)
            v.modelFingerprint = string(m.model_fingerprint)
            v.tokenizerFingerprint = string(m.tokenizer_fingerprint)
            v.vocabSize = m.vocab_size
            if let c = m.capabilities?.pointee {
                v.capabilities = Capabilities(maxDrafts: c.max_drafts, maxBlockLength: c.max_block_length, draftTokensPerSecond: c.draft_tokens_per_second, maxRequests: c.max_requests)
            }
            v.authToken = string(m.auth_token)
            return .success(.hello(v))
        case SPECULA__ENVELOPE__BODY_HELLO_ACK:
            guard let m = e.hello_ack?.pointee else { return .failure(.malformed("HelloAck body missing")) }
            var v = HelloAck()
            v.protocolVersion = m.protocol_version
            v.role = PeerRole(rawValue: m.role.rawValue) ?? .unspecified
            v.nodeID = string(m.node_id)
            v.modelFingerprint = string(m.model_fingerprint)
            v.tokenizerFingerprint = string(m.tokenizer_fingerprint)
            v.vocabSize = m.vocab_size
            v.accepted = m.accepted != 0
            v.reason = string(m.reason)
            v.heartbeatIntervalMs = m.heartbeat_interval_ms
            v.textPrompts = m.text_prompts != 0
            return .success(.helloAck(v))
        case SPECULA__ENVELOPE__BODY_HEARTBEAT:
            guard let m = e.heartbeat?.pointee else { return .failure(.malformed("Heartbeat body missing")) }
            return .success(.heartbeat(Heartbeat(sequence: m.sequence, sentUnixNanos: m.sent_unix_nanos, reply: m.reply != 0)))
        case SPECULA__ENVELOPE__BODY_SPECULATE:
            guard let m = e.speculate?.pointee else { return .failure(.malformed("Speculate body missing")) }
            var v = Speculate()
            v.requestID = m.request_id
            v.round = m.round
            v.contextTokens = array(m.context_tokens, m.n_context_tokens)
            v.contextPosition = m.context_position
            v.numDrafts = m.num_drafts
            v.lookahead = m.block_length
            v.sampling = m.sampling.map { sampling($0.pointee) }
            v.streamIDs = array(m.stream_ids, m.n_stream_ids)
            v.seed = m.seed
            v.maxSupport = m.max_support
            return .success(.speculate(v))
        case SPECULA__ENVELOPE__BODY_DRAFT_BLOCK:
            guard let m = e.draft_block?.pointee else { return .failure(.malformed("DraftToken body missing")) }
            var v = DraftToken()
            v.requestID = m.request_id
            v.round = m.round
            v.basePosition = m.base_position
            v.draftIndex = m.draft_index
            v.ended = m.ended != 0
            v.generation = m.generation
            v.tokens = array(m.tokens, m.n_tokens)
            for pointer in array(m.distributions, m.n_distributions) {
                guard let d = pointer?.pointee else { return .failure(.malformed("DraftToken has a null distribution")) }
                v.distributions.append(WireSparseDistribution(tokenIDs: array(d.token_ids, d.n_token_ids), probabilities: array(d.probabilities, d.n_probabilities)))
            }
            return .success(.draftToken(v))
        case SPECULA__ENVELOPE__BODY_ACCEPTED:
            guard let m = e.accepted?.pointee else { return .failure(.malformed("Accepted body missing")) }
            var v = Accepted()
            v.requestID = m.request_id
            v.round = m.round
            v.tokens = array(m.tokens, m.n_tokens)
            v.newPosition = m.new_position
            return .success(.accepted(v))
        case SPECULA__ENVELOPE__BODY_GENERATE:
            guard let m = e.generate?.pointee else { return .failure(.malformed("Generate body missing")) }
            var v = GenerateRequest()
            v.requestID = m.request_id
            v.prompt = string(m.prompt)
            v.promptTokens = array(m.prompt_tokens, m.n_prompt_tokens)
            v.maxTokens = m.max_tokens
            v.sampling = m.sampling.map { sampling($0.pointee) }
            v.seed = m.seed
            v.verifier = string(m.verifier)
            v.numDrafts = m.num_drafts
            v.blockLength = m.block_length
            v.stop = array(m.stop, m.n_stop).map { string($0) }
            v.chat = m.chat != 0
            v.allowLossy = m.allow_lossy != 0
            v.noDraft = m.no_draft != 0
            v.messages = array(m.messages, m.n_messages).map { WireChatMessage(role: string($0.flatMap { $0.pointee.role }), content: string($0.flatMap { $0.pointee.content })) }
            return .success(.generate(v))
        case SPECULA__ENVELOPE__BODY_TOKEN_CHUNK:
            guard let m = e.token_chunk?.pointee else { return .failure(.malformed("TokenChunk body missing")) }
            var v = TokenChunk()
            v.requestID = m.request_id
            v.tokens = array(m.tokens, m.n_tokens)
            v.text = string(m.text)
            for pointer in array(m.rounds, m.n_rounds) {
                guard let r = pointer?.pointee else { return .failure(.malformed("TokenChunk has a null round")) }
                var s = PassStats()
                s.round = r.round
                s.drafts = r.drafts
                s.depth = r.block_length
                s.accepted = r.accepted
                s.draftIndex = r.draft_index
                s.targetMicros = r.target_micros
                s.waitMicros = r.wait_micros
                s.batchSize = r.batch_size
                s.acceptanceEstimate = r.acceptance_estimate
                s.passCostFixedMicros = r.pass_cost_fixed_micros
                s.passCostPerTokenMicros = r.pass_cost_per_token_micros
                s.adaptive = r.adaptive != 0
                s.continuedDrafts = r.continued_drafts
                s.draftWaitPerTokenMicros = r.draft_wait_per_token_micros
                s.decodedWhileDrafting = r.decoded_while_drafting != 0
                s.pools = array(r.pools, r.n_pools).map(string)
                v.passes.append(s)
            }
            return .success(.tokenChunk(v))
        case SPECULA__ENVELOPE__BODY_DONE:
            guard let m = e.done?.pointee else { return .failure(.malformed("Done body missing")) }
            var v = Done()
            v.requestID = m.request_id
            v.reason = FinishReason(rawValue: m.reason.rawValue) ?? .unspecified
            v.promptTokens = m.prompt_tokens
            v.generatedTokens = m.generated_tokens
            v.rounds = m.rounds
            v.targetPasses = m.target_passes
            v.acceptedDraftTokens = m.accepted_draft_tokens
            v.elapsedSeconds = m.elapsed_seconds
            return .success(.done(v))
        case SPECULA__ENVELOPE__BODY_CANCEL:
            guard let m = e.cancel?.pointee else { return .failure(.malformed("Cancel body missing")) }
            return .success(.cancel(Cancel(requestID: m.request_id, reason: string(m.reason))))
        case SPECULA__ENVELOPE__BODY_ERROR:
            guard let m = e.error?.pointee else { return .failure(.malformed("Error body missing")) }
            return .success(.error(ErrorMessage(code: WireErrorCode(rawValue: m.code.rawValue) ?? .unspecified, message: string(m.message), requestID: m.request_id)))
        case SPECULA__ENVELOPE__BODY_CHALLENGE:
            guard let m = e.challenge?.pointee else { return .failure(.malformed("Challenge body missing")) }
            return .success(.challenge(Challenge(nonce: string(m.nonce))))
        default:
            return .failure(.malformed("envelope has no message (body case \(e.body_case.rawValue))"))
        }
    }

    private static func sampling(_ s: Specula__SamplingParams) -> WireSampling {
        WireSampling(temperature: s.temperature, topK: s.top_k, topP: s.top_p, minP: s.min_p)
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    private static func array<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
