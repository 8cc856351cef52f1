import ArgumentParser
import Foundation
import SpeculaModel

extension Models {
    /// `specula models tokenize`.
    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the token ids of a text, comma-separated.")

        @Option(help: "A GGUF file or a cached model's name.") var model: String
        @Flag(help: "Render the text as one user message with the model's chat template (its markers special, the text not).") var chat = false
        @Argument(help: "The text.") var text: String

        func run() throws {
            let tokenizer = try Tokenizer(file: GGUFFile(path: ModelStore().resolve(model)))
            let tokens = chat ? try ChatTemplate(for: tokenizer).tokens([ChatMessage(role: "user", content: text)], tokenizer: tokenizer)
                : tokenizer.encode(text)
            print(TokenList.format(tokens))
        }
    }

    /// `specula models detokenize`.
    struct Detokenize: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the text of comma-separated token ids.")

        @Option(help: "A GGUF file or a cached model's name.") var model: String
        @Argument(help: "Token ids, comma-separated.") var ids: String

        func run() throws {
            let tokenizer = try Tokenizer(file: GGUFFile(path: ModelStore().resolve(model)))
            let tokens = try TokenList.parse(ids, flag: "ids")
            guard tokens.allSatisfy({ $0 < tokenizer.vocabularySize }) else { throw ValidationError("ids outside 0..<\(tokenizer.vocabularySize).") }
            print(tokenizer.decode(tokens), terminator: "")
        }
    }
}
