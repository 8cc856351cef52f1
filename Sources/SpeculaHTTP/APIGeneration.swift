import SpeculaCluster
import SpeculaCore
import SpeculaNet

/// An API request checked at the door and turned into the native protocol's `Generate`s, one per
/// choice (`n`), with the prompt already tokenized — so that every refusal is a 400 naming the
/// field before any work starts, in the same words as the native protocol's (`GenerationSpec`).
struct APIGeneration: Sendable {
    /// Where the prompt comes from.
    enum Prompt {
        case chat([WireChatMessage])
        case text(String)
        case tokens([Int])
    }

    let requests: [GenerateRequest]
    let promptTokens: Int
    let stream: Bool
    let includeUsage: Bool

    static let maxChoices = 16

    init(_ fields: SamplingFields, prompt: Prompt, api: OpenAIServer.Model) throws(OpenAIError) {
        if let model = fields.model, !model.isEmpty, model != api.id {
            throw OpenAIError(.notFound, "The model '\(model)' does not exist; this server serves '\(api.id)'", param: "model", code: "model_not_found")
        }
        let choices = fields.n ?? 1
        guard (1...Self.maxChoices).contains(choices) else { throw .invalid("n", "must be in 1...\(Self.maxChoices), got \(choices)") }
        for (name, value) in [("max_tokens", fields.maxTokens), ("max_completion_tokens", fields.maxCompletionTokens)] {
            if let value, value < 1 { throw .invalid(name, "must be at least 1, got \(value)") }
        }
        for (name, value) in [("presence_penalty", fields.presencePenalty), ("frequency_penalty", fields.frequencyPenalty)] {
            if let value, value != 0 { throw .invalid(name, "is not supported (only 0)") }
        }
        if fields.logprobs == true { throw .invalid("logprobs", "is not supported") }
        if let topK = fields.topK, topK < 0 { throw .invalid("top_k", "must be ≥ 0 (0 = off), got \(topK)") }
        let speculative = fields.speculative
        for (name, value) in [("num_drafts", speculative?.numDrafts), ("block_length", speculative?.blockLength)] {
            if let value, value < 0 { throw .invalid("speculative.\(name)", "must be ≥ 0 (0 = the coordinator chooses), got \(value)") }
        }

        var request = GenerateRequest()
        var sampling = WireSampling()
        sampling.temperature = fields.temperature ?? 1
        sampling.topP = fields.topP ?? 1
        sampling.topK = UInt32(clamping: fields.topK ?? 0)
        sampling.minP = fields.minP ?? 0
        request.sampling = sampling
        request.verifier = speculative?.verifier ?? ""
        request.numDrafts = UInt32(clamping: speculative?.numDrafts ?? 0)
        request.blockLength = UInt32(clamping: speculative?.blockLength ?? 0)
        request.noDraft = speculative?.enabled == false
        request.stop = fields.stop?.strings ?? []
        switch prompt {
        case .chat(let messages): request.messages = messages
        case .text(let text): request.prompt = text
        case .tokens(let tokens):
            guard tokens.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else { throw .invalid("prompt", "token ids must be ≥ 0") }
            request.promptTokens = tokens.map { UInt32($0) }
        }
        let tokens: [Token]
        do { tokens = try GenerationSpec.promptTokens(of: request, target: api.target) } catch { throw Self.translate(error) }
        (request.promptTokens, request.prompt, request.messages) = (tokens.map { UInt32($0) }, "", [])
        let room = api.limits.contextTokens(of: api.target) - tokens.count
        let maxTokens = fields.maxCompletionTokens ?? fields.maxTokens ?? max(room, 1)
        request.maxTokens = UInt32(clamping: maxTokens)
        do { _ = try GenerationSpec(request, target: api.target, limits: api.limits) } catch { throw Self.translate(error) }

        let seed = fields.seed.map { UInt64(bitPattern: $0) } ?? UInt64.random(in: 0...UInt64.max)
        requests = (0..<choices).map { i in
            var choice = request
            choice.requestID = UInt64(i + 1)
            choice.seed = seed &+ UInt64(i)
            return choice
        }
        promptTokens = tokens.count
        stream = fields.stream ?? false
        includeUsage = fields.streamOptions?.includeUsage ?? false
    }

    /// The native check's refusal, named by the API's field.
    private static func translate(_ rejection: GenerationSpec.Rejection) -> OpenAIError {
        let param = switch rejection.field {
        case "num_drafts", "block_length", "verifier": "speculative.\(rejection.field)"
        case "prompt_tokens": "prompt"
        default: rejection.field
        }
        return OpenAIError(.badRequest, "\(param): \(rejection.message)", param: param)
    }
}
