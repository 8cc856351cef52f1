import Foundation
import SpeculaNet

/// Token counts of a request, with the speculative figures OpenAI's usage object does not have
/// (how many target passes the tokens took, how many were draft tokens the target accepted).
struct Usage: Encodable, Sendable {
    var promptTokens = 0
    var completionTokens = 0
    var totalTokens: Int { promptTokens + completionTokens }
    var speculative = Speculative()

    struct Speculative: Encodable, Sendable {
        var targetPasses: UInt64 = 0
        var acceptedDraftTokens: UInt64 = 0
        var rounds: UInt64 = 0
        var tokensPerPass = 0.0
    }

    mutating func add(_ done: Done) {
        completionTokens += Int(done.generatedTokens)
        speculative.targetPasses += done.targetPasses
        speculative.acceptedDraftTokens += done.acceptedDraftTokens
        speculative.rounds += done.rounds
        speculative.tokensPerPass = Double(completionTokens) / Double(max(speculative.targetPasses, 1))
    }

    enum CodingKeys: String, CodingKey { case promptTokens, completionTokens, totalTokens, speculative }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
        try container.encode(speculative, forKey: .speculative)
    }
}

/// `finish_reason` of a choice that ended with `done`.
func finishReason(_ done: Done) -> String {
    done.reason == .length ? "length" : "stop"
}

/// `POST /v1/chat/completions` without `stream`.
struct ChatCompletion: Encodable {
    let id: String
    let object = "chat.completion"
    let created: Int
    let model: String
    let choices: [Choice]
    let usage: Usage

    struct Choice: Encodable {
        let index: Int
        let message: Message
        let finishReason: String
    }

    struct Message: Encodable {
        let role: String
        let content: String
    }
}

/// One server-sent event of a streamed chat completion.
struct ChatCompletionChunk: Encodable {
    let id: String
    let object = "chat.completion.chunk"
    let created: Int
    let model: String
    let choices: [Choice]
    var usage: Usage?

    struct Choice: Encodable {
        let index: Int
        let delta: Delta
        var finishReason: String?
    }

    struct Delta: Encodable {
        var role: String?
        var content: String?
    }
}

/// `POST /v1/completions`, whole or (with `stream`) one event of it.
struct Completion: Encodable {
    let id: String
    let object = "text_completion"
    let created: Int
    let model: String
    let choices: [Choice]
    var usage: Usage?

    struct Choice: Encodable {
        let index: Int
        let text: String
        var finishReason: String?
    }
}

/// `GET /v1/models`.
struct ModelList: Encodable {
    let object = "list"
    let data: [Entry]

    struct Entry: Encodable {
        let id: String
        let object = "model"
        let created: Int
        let ownedBy = "specula"
        /// The longest prompt + output a request may have (vLLM's name for it).
        let maxModelLen: Int
    }
}

/// How the API writes JSON: snake_case keys, as OpenAI's.
let apiEncoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return encoder
}()
