/// The fields `/v1/chat/completions` and `/v1/completions` share: sampling, length, stop strings,
/// choices, and vLLM-style extensions (`top_k`, `min_p`, `speculative`). Unknown fields are
/// ignored, as OpenAI's own server does.
struct SamplingFields: Decodable, Sendable {
    var model: String?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var temperature: Double?
    var topP: Double?
    var topK: Int?
    var minP: Double?
    var seed: Int64?
    var stop: StopList?
    var n: Int?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var logprobs: Bool?
    var speculative: Speculative?

    struct StreamOptions: Decodable, Sendable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// How the coordinator speculates for this request (each left to it when absent;
    /// `enabled: false` decodes plainly, without drafts).
    struct Speculative: Decodable, Sendable {
        var numDrafts: Int?
        var blockLength: Int?
        var verifier: String?
        var enabled: Bool?
        enum CodingKeys: String, CodingKey {
            case numDrafts = "num_drafts", blockLength = "block_length", verifier, enabled
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, stream, temperature, seed, stop, n, logprobs, speculative
        case streamOptions = "stream_options", maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens"
        case topP = "top_p", topK = "top_k", minP = "min_p"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty"
    }
}

/// `stop`: a string or a list of strings.
struct StopList: Decodable, Sendable {
    var strings: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            strings = []
        } else if let one = try? container.decode(String.self) {
            strings = [one]
        } else {
            strings = try container.decode([String].self)
        }
    }
}

/// The body of `POST /v1/chat/completions`.
struct ChatCompletionRequest: Decodable, Sendable {
    var messages: [Message]
    var fields: SamplingFields

    struct Message: Decodable, Sendable {
        var role: String
        var content: Content

        enum CodingKeys: String, CodingKey { case role, content }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            content = try container.decodeIfPresent(Content.self, forKey: .content) ?? Content(text: "")
        }
    }

    /// A message's content: a string, or a list of parts of which the text parts are joined.
    struct Content: Decodable, Sendable {
        var text: String

        init(text: String) { self.text = text }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                text = ""
            } else if let string = try? container.decode(String.self) {
                text = string
            } else {
                let parts = try container.decode([Part].self)
                guard parts.allSatisfy({ $0.type == "text" }) else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "only text content parts are supported")
                }
                text = parts.compactMap(\.text).joined()
            }
        }

        struct Part: Decodable, Sendable {
            var type: String
            var text: String?
        }
    }

    enum CodingKeys: String, CodingKey { case messages }

    init(from decoder: any Decoder) throws {
        messages = try decoder.container(keyedBy: CodingKeys.self).decode([Message].self, forKey: .messages)
        fields = try SamplingFields(from: decoder)
    }
}

/// The body of `POST /v1/completions`: a prompt as text or token ids.
struct CompletionRequest: Decodable, Sendable {
    var prompt: Prompt
    var echo: Bool?
    var fields: SamplingFields

    enum Prompt: Sendable {
        case text(String)
        case tokens([Int])
    }

    enum CodingKeys: String, CodingKey { case prompt, echo }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? container.decode(String.self, forKey: .prompt) {
            prompt = .text(text)
        } else if let texts = try? container.decode([String].self, forKey: .prompt), texts.count == 1 {
            prompt = .text(texts[0])
        } else if let tokens = try? container.decode([Int].self, forKey: .prompt) {
            prompt = .tokens(tokens)
        } else if let batches = try? container.decode([[Int]].self, forKey: .prompt), batches.count == 1 {
            prompt = .tokens(batches[0])
        } else {
            throw DecodingError.dataCorruptedError(forKey: .prompt, in: container,
                                                   debugDescription: "must be a string or a list of token ids (one prompt per request)")
        }
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo)
        fields = try SamplingFields(from: decoder)
    }
}

/// `POST /tokenize` (llama.cpp's shape).
struct TokenizeRequest: Decodable, Sendable {
    var content: String
    var addSpecial: Bool?
    var withPieces: Bool?
    enum CodingKeys: String, CodingKey { case content, addSpecial = "add_special", withPieces = "with_pieces" }
}

/// `POST /detokenize` (llama.cpp's shape).
struct DetokenizeRequest: Decodable, Sendable {
    var tokens: [Int]
}
