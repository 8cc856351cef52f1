import ArgumentParser
import Foundation
import Logging
import SpeculaCluster
import SpeculaHTTP
import SpeculaNet

/// The coordinator's OpenAI-compatible HTTP API: where it listens, the API keys it requires, and
/// the chat template it renders chats with.
struct HTTPOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve the OpenAI-compatible HTTP API on this port (on --host; 0: any free port).",
                               discussion: "POST /v1/chat/completions and /v1/completions (streamed or whole), GET /v1/models, /health, /metrics; POST /tokenize, /detokenize."))
    var httpPort: Int?
    @Option(help: "An API key HTTP clients must send as `Authorization: Bearer KEY` (repeatable; also SPECULA_API_KEY).")
    var apiKey: [String] = []
    @Option(help: "A file of API keys, one per line.") var apiKeyFile: String?
    @Option(help: "A Jinja chat template to render chats with, instead of the model file's.") var chatTemplateFile: String?
    @Option(help: "The largest HTTP request body taken, in bytes (larger: 413).") var maxBodyBytes = 8 << 20

    /// Every key from the flags, the file and the environment.
    func keys() throws -> [String] {
        var keys = apiKey
        if let apiKeyFile {
            let text = try String(contentsOfFile: apiKeyFile, encoding: .utf8)
            keys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let key = ProcessInfo.processInfo.environment["SPECULA_API_KEY"], !key.isEmpty { keys.append(key) }
        return keys
    }

    func check(host: String, insecure: Bool) throws {
        guard let httpPort else { return }
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be in 0...65535, got \(httpPort).") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024.") }
        if let apiKeyFile, !FileManager.default.isReadableFile(atPath: apiKeyFile) {
            throw ValidationError("--api-key-file \(apiKeyFile) cannot be read.")
        }
        if let chatTemplateFile, !FileManager.default.isReadableFile(atPath: chatTemplateFile) {
            throw ValidationError("--chat-template-file \(chatTemplateFile) cannot be read.")
        }
        let keys = try keys()
        guard AuthOptions.isLoopback(host) || !keys.isEmpty || insecure else {
            throw ValidationError("--http-port on the non-loopback address \(host) needs an API key (--api-key, --api-key-file or SPECULA_API_KEY), or pass --insecure.")
        }
    }

    /// Starts the API (routes answer 503 until the state is ready); nil without --http-port.
    func start(host: String, metrics: MetricsRegistry, logger: Logger) async throws -> (state: ServingState, port: Int)? {
        guard let httpPort else { return nil }
        var configuration = OpenAIServer.Configuration()
        (configuration.host, configuration.port, configuration.apiKeys) = (host, httpPort, try keys())
        (configuration.maxBodyBytes, configuration.metrics) = (maxBodyBytes, metrics)
        let state = ServingState()
        let port = try await OpenAIServer.start(configuration, state: state, logger: logger)
        return (state, port)
    }

    /// The name the API serves the model under: `--model` as given when it names a cached model
    /// (`qwen2.5-coder-1.5b`), else the model file's name without `.gguf`.
    static func modelID(_ spec: String, target: ClusterModel) -> String {
        guard spec.contains("/") || spec.hasSuffix(".gguf") || spec.hasSuffix(".json") else { return spec }
        let name = URL(fileURLWithPath: target.source).lastPathComponent
        return name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name
    }
}
