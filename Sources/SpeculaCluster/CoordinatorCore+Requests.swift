import Foundation
import Logging
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// Starting and cancelling generations.
extension CoordinatorCore {
    func start(_ generate: GenerateRequest, from client: Connection) {
        func reject(_ why: String) {
            metrics.add(CoordinatorMetrics.requestErrors, labels: ["kind": "bad_request"])
            client.send(.error(ErrorMessage(code: .badRequest, message: why, requestID: generate.requestID)))
        }
        let sampling = SamplingParameters(wire: generate.sampling)
        let kindName = generate.verifier.isEmpty ? VerifierKind.defaultKind(temperature: sampling.temperature).rawValue : generate.verifier
        guard let kind = VerifierKind(name: kindName) else {
            return reject("unknown verifier '\(kindName)'; choose one of \(VerifierKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard kind.isLossless || generate.allowLossy else {
            return reject("verifier '\(kind.rawValue)' is not lossless; set allow_lossy to use it anyway")
        }
        guard !kind.requiresGreedy || sampling.isGreedy else {
            return reject("verifier 'greedy' needs temperature 0")
        }
        var promptTokens = generate.promptTokens.map(Int.init)
        if !generate.prompt.isEmpty {
            guard let tokenizer = target.tokenizer else {
                return reject("this coordinator's model has no tokenizer; send prompt_tokens")
            }
            promptTokens = tokenizer.encode(generate.chat ? tokenizer.chatPrompt(user: generate.prompt) : generate.prompt)
        }
        guard !promptTokens.isEmpty else { return reject("the prompt is empty") }
        guard promptTokens.allSatisfy({ $0 < target.vocabularySize }) else {
            return reject("prompt_tokens has ids outside 0..<\(target.vocabularySize)")
        }
        guard generate.maxTokens >= 1 else { return reject("max_tokens must be at least 1") }
        if let limit = target.maxSequenceLength, promptTokens.count + Int(generate.maxTokens) > limit {
            return reject("prompt (\(promptTokens.count) tokens) + max_tokens (\(generate.maxTokens)) exceeds the model's context length \(limit)")
        }
        let drafts = generate.noDraft ? 0 : generate.numDrafts == 0 ? options.defaultDrafts : Int(generate.numDrafts)
        let block = generate.blockLength == 0 ? options.defaultBlockLength : Int(generate.blockLength)
        guard drafts <= options.maxDrafts, block <= options.maxBlockLength else {
            return reject("num_drafts ≤ \(options.maxDrafts) and block_length ≤ \(options.maxBlockLength) please")
        }
        let id = nextRequestID
        nextRequestID += 1
        requests[id] = GenerationRequest(
            id: id, client: client, clientRequestID: generate.requestID, promptLength: promptTokens.count, context: promptTokens,
            maxTokens: Int(generate.maxTokens), sampling: sampling, seed: generate.seed, verifier: kind.makeVerifier(),
            drafts: kind.usesMultipleDrafts ? drafts : min(drafts, 1), blockLength: block,
            adaptive: !generate.noDraft && generate.numDrafts == 0 && generate.blockLength == 0 && kind.usesMultipleDrafts,
            choices: StreamChoices(RandomStream(seed: generate.seed, stream: .max)),
            text: target.tokenizer.map { StreamingDecoder(tokenizer: $0) }, stop: generate.stop)
        metrics.add(CoordinatorMetrics.requestsStarted)
        metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
        logger.debug("request started", metadata: ["request.id": "\(id)", "prompt.tokens": "\(promptTokens.count)", "max.tokens": "\(generate.maxTokens)"])
        schedule()
    }

    func cancelRequests(where matches: (GenerationRequest) -> Bool) {
        for (id, request) in requests where matches(request) {
            requests[id] = nil
            scorer.release(request: id)
            forgetPending(id)
            metrics.add(CoordinatorMetrics.requestsFinished, labels: ["reason": "cancelled"])
            metrics.set(CoordinatorMetrics.requestsInFlight, Double(requests.count))
            for (connectionID, peer) in peers {
                guard case .worker(var worker) = peer, worker.synced.removeValue(forKey: id) != nil else { continue }
                worker.connection.send(.cancel(Cancel(requestID: id, reason: "cancelled")))
                peers[connectionID] = .worker(worker)
            }
            logger.info("request cancelled", metadata: ["request.id": "\(id)"])
        }
    }
}
