import ArgumentParser
import Foundation
import SpeculaJinja
import SpeculaModel

extension Models {
    /// `specula models chat-template`: what a chat becomes before the model sees it.
    struct ChatTemplateCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "chat-template",
            abstract: "Render a chat with a model's chat template (the prompt, or its token ids).",
            discussion: """
                The template is the model file's `tokenizer.chat_template` (Jinja), rendered as Hugging Face's \
                apply_chat_template does. Message contents are data: special-token text inside them stays text.

                  specula models chat-template --model qwen2.5-coder-0.5b --messages '[{"role":"user","content":"Hi"}]'
                  specula models chat-template --template-file t.jinja --variables-file vars.json
                """)

        @Option(help: "A GGUF file or a cached model's name: its template, tokenizer and special tokens.") var model: String?
        @Option(help: "A Jinja template file (instead of, or overriding, the model's).") var templateFile: String?
        @Option(help: "The messages, a JSON array of {role, content}.") var messages: String?
        @Option(help: "A JSON object of all the template's variables (messages, add_generation_prompt, tools, …).") var variablesFile: String?
        @Flag(help: "Leave out the assistant prompt that ends the text.") var noGenerationPrompt = false
        @Flag(help: "Print the token ids (needs --model) instead of the text.") var tokens = false

        func validate() throws {
            guard model != nil || templateFile != nil else { throw ValidationError("Give --model, --template-file or both.") }
            guard (messages == nil) != (variablesFile == nil) else { throw ValidationError("Give one of --messages and --variables-file.") }
            guard !tokens || model != nil else { throw ValidationError("--tokens needs --model (its tokenizer).") }
        }

        func run() throws {
            let tokenizer = try model.map { try Tokenizer(file: GGUFFile(path: ModelStore().resolve($0))) }
            let source = try templateFile.map { try String(contentsOfFile: $0, encoding: .utf8) }
            let template: ChatTemplate
            if let tokenizer {
                template = try ChatTemplate(for: tokenizer, source: source)
            } else {
                template = try ChatTemplate(source: source ?? ChatTemplate.chatML)
            }
            var variables: JinjaDictionary
            if let messages {
                variables = JinjaDictionary([("messages", try JinjaValue(json: messages, isData: true))])
            } else {
                let text = try String(contentsOfFile: variablesFile!, encoding: .utf8)
                guard case .dictionary(let all) = try JinjaValue(json: text, isData: true) else {
                    throw ValidationError("--variables-file must hold a JSON object.")
                }
                variables = all
            }
            if messages != nil || variables["add_generation_prompt"] == nil {
                variables["add_generation_prompt"] = .bool(!noGenerationPrompt)
            }
            let text = try template.render(variables)
            if let tokenizer, tokens {
                print(TokenList.format(tokenizer.encode(text.runs.map { ($0.string, !$0.isData) })))
            } else {
                FileHandle.standardOutput.write(Data(text.string.utf8))
            }
        }
    }
}
