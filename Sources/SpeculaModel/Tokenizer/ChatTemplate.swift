package import SpeculaJinja

/// One message of a chat: a role (`system`, `user`, `assistant`, …) and its text.
package struct ChatMessage: Sendable, Equatable, Codable {
    package var role: String
    package var content: String

    package init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A model's chat template — the Jinja program in its GGUF file's `tokenizer.chat_template` — that
/// turns messages into the prompt the model was trained on, and the prompt into tokens with only
/// the template's own markers as special tokens.
///
/// Rendered as Hugging Face's `apply_chat_template` renders it (`messages`, `add_generation_prompt`,
/// `bos_token`, `eos_token`), so a prompt here is byte for byte the one the model's authors tested.
package struct ChatTemplate: Sendable {
    package let source: String
    private let template: JinjaTemplate
    private let bosToken: String
    private let eosToken: String

    /// ChatML, for model files that carry no template (llama.cpp's fallback too).
    package static let chatML = """
        {%- for message in messages -%}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\
        {%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}
        """

    package init(source: String, bosToken: String = "", eosToken: String = "") throws(JinjaError) {
        self.source = source
        template = try JinjaTemplate(source)
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// The template of `tokenizer`'s model file (ChatML where it has none), or `source` instead.
    package init(for tokenizer: Tokenizer, source: String? = nil) throws(JinjaError) {
        try self.init(source: source ?? tokenizer.chatTemplate ?? Self.chatML,
                      bosToken: tokenizer.bos.flatMap(tokenizer.tokenText) ?? "",
                      eosToken: tokenizer.eos.flatMap(tokenizer.tokenText) ?? "")
    }

    /// The prompt text, its parts marked as template text or message data.
    package func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws(JinjaError) -> JinjaText {
        let list = messages.map { message in
            JinjaValue.dictionary(JinjaDictionary([("role", .data(message.role)), ("content", .data(message.content))]))
        }
        return try render(JinjaDictionary([("messages", .array(list)), ("add_generation_prompt", .bool(addGenerationPrompt))]))
    }

    /// The prompt for any variables (`messages` and more, e.g. `tools`), with the special-token
    /// globals added.
    package func render(_ variables: JinjaDictionary) throws(JinjaError) -> JinjaText {
        var all = variables
        all["bos_token"] = all["bos_token"] ?? .string(JinjaText(bosToken))
        all["eos_token"] = all["eos_token"] ?? .string(JinjaText(eosToken))
        all["add_generation_prompt"] = all["add_generation_prompt"] ?? .bool(false)
        return try template.render(all)
    }

    /// The prompt's tokens: special tokens only where the template wrote them.
    package func tokens(_ messages: [ChatMessage], addGenerationPrompt: Bool = true, tokenizer: Tokenizer) throws(JinjaError) -> [Int] {
        tokenizer.encode(try render(messages, addGenerationPrompt: addGenerationPrompt).runs.map { ($0.string, !$0.isData) })
    }
}
