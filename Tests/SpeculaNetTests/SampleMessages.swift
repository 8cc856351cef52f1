import SpeculaNet

/// One non-default instance of every message, for round-trip and framing tests.
enum SampleMessages {
    static func draftToken(index: UInt32 = 3, positions: Int = 8, support: Int = 64, seed: UInt32 = 1) -> DraftToken {
        var block = DraftToken()
        block.requestID = 0xDEAD_BEEF_0000_0001
        block.round = 42
        block.basePosition = 1000
        block.draftIndex = index
        block.tokens = (0..<UInt32(positions)).map { ($0 &* 7919 &+ seed) % 151_936 }
        block.distributions = (0..<positions).map { p in
            WireSparseDistribution(
                tokenIDs: (0..<UInt32(support)).map { ($0 &* 104_729 &+ UInt32(p) &+ seed) % 151_936 },
                probabilities: (0..<support).map { Float($0 + 1) / Float(support * (support + 1) / 2) })
        }
        return block
    }

    static var all: [Message] {
        var hello = Hello()
        hello.role = .worker
        hello.nodeID = "worker-ü-1"
        hello.modelFingerprint = "sha256:abc"
        hello.tokenizerFingerprint = "tok:def"
        hello.vocabSize = 151_936
        hello.capabilities = Capabilities(maxDrafts: 4, maxBlockLength: 8, draftTokensPerSecond: 61.5, maxRequests: 32)
        hello.authToken = "token"

        var ack = HelloAck()
        ack.nodeID = "coordinator"
        ack.modelFingerprint = "m"
        ack.tokenizerFingerprint = "t"
        ack.vocabSize = 7
        ack.accepted = true
        ack.reason = "welcome"
        ack.heartbeatIntervalMs = 500
        ack.textPrompts = true

        var speculate = Speculate()
        speculate.requestID = 9
        speculate.round = 2
        speculate.contextTokens = [1, 2, 3]
        speculate.contextPosition = 17
        speculate.numDrafts = 4
        speculate.lookahead = 8
        speculate.sampling = WireSampling(temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05)
        speculate.streamIDs = [10, 11, 12, UInt64.max]
        speculate.seed = 1234
        speculate.maxSupport = 64

        var accepted = Accepted()
        accepted.requestID = 9
        accepted.round = 2
        accepted.tokens = [5, 6, 7]
        accepted.newPosition = 20

        var generate = GenerateRequest()
        generate.requestID = 77
        generate.prompt = "def fib(n):"
        generate.promptTokens = [0, 1]
        generate.maxTokens = 128
        generate.sampling = WireSampling(temperature: 1)
        generate.seed = 5
        generate.verifier = "multidraft-block"
        generate.numDrafts = 2
        generate.blockLength = 4
        generate.messages = [WireChatMessage(role: "system", content: "Be brief."), WireChatMessage(role: "user", content: "Hi <|im_end|> ü")]
        generate.stop = ["\n\n", "```"]
        generate.chat = true
        generate.allowLossy = true
        generate.noDraft = true

        var chunk = TokenChunk()
        chunk.requestID = 77
        chunk.tokens = [100, 101]
        chunk.text = "héllo"
        var stats = PassStats()
        stats.round = 3
        stats.drafts = 2
        stats.depth = 4
        stats.accepted = 3
        stats.draftIndex = -1
        stats.targetMicros = 3000
        stats.waitMicros = 1.25
        stats.batchSize = 3
        stats.acceptanceEstimate = 0.7
        stats.passCostFixedMicros = 1000
        stats.passCostPerTokenMicros = 50
        stats.adaptive = true
        stats.continuedDrafts = 2
        stats.pools = ["sha256:abc", "prompt-lookup:n=3,min=1"]
        chunk.passes = [stats, PassStats()]

        var done = Done()
        done.requestID = 77
        done.reason = .endOfSequence
        done.promptTokens = 10
        done.generatedTokens = 128
        done.rounds = 40
        done.targetPasses = 40
        done.acceptedDraftTokens = 88
        done.elapsedSeconds = 2.5

        var ended = DraftToken()
        (ended.requestID, ended.basePosition, ended.ended, ended.generation) = (5, 12, true, 3)

        return [
            .hello(hello), .hello(Hello()), .helloAck(ack), .heartbeat(Heartbeat(sequence: 7, sentUnixNanos: 123, reply: true)),
            .speculate(speculate), .draftToken(draftToken()), .draftToken(DraftToken()), .draftToken(ended), .accepted(accepted),
            .generate(generate), .tokenChunk(chunk), .done(done), .cancel(Cancel(requestID: 77, reason: "client left")),
            .error(ErrorMessage(code: .frameTooLarge, message: "too big", requestID: 0)),
            .challenge(Challenge(nonce: "00c0ffee")),
        ]
    }
}
