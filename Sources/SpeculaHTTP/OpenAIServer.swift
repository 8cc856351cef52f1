import Foundation
package import Hummingbird
package import Logging
package import SpeculaCluster
package import SpeculaNet

/// The OpenAI-compatible HTTP API (`specula coordinator --http-port`): chat and text completions,
/// streamed as server-sent events or whole, models, health, tokenize/detokenize and metrics, on
/// Hummingbird (SwiftNIO), beside the coordinator's native protobuf port. Each request runs on the
/// coordinator as an in-process client, in the same batched passes as native clients' requests.
package enum OpenAIServer {
    /// The model the API serves, under its name.
    package struct Model: Sendable {
        package let target: ClusterModel
        /// The name clients pass as `model` (the model file's name without `.gguf`).
        package let id: String
        package let limits: GenerationSpec.Limits

        package init(target: ClusterModel, id: String, limits: GenerationSpec.Limits) {
            self.target = target
            self.id = id
            self.limits = limits
        }
    }

    package struct Configuration: Sendable {
        package var host = "127.0.0.1"
        package var port = 8080
        /// Keys accepted as `Authorization: Bearer KEY`; empty: no authentication.
        package var apiKeys: [String] = []
        /// The largest request body taken (larger: 413).
        package var maxBodyBytes = 8 << 20
        package var metrics = MetricsRegistry()

        package init() {}
    }

    /// Starts listening and returns the bound port once the server accepts connections; it then
    /// runs until the process ends.
    package static func start(_ configuration: Configuration, state: ServingState, logger: Logger) async throws -> Int {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        if !configuration.apiKeys.isEmpty { router.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys)) }
        OpenAIRoutes(state: state, maxBodyBytes: configuration.maxBodyBytes, metrics: configuration.metrics).register(on: router)
        let (bound, port) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "specula"),
            onServerRunning: { channel in
                port.yield(channel.localAddress?.port ?? configuration.port)
                port.finish()
            }, logger: logger)
        let running = Task {
            do { try await app.run() } catch {
                logger.error("HTTP server stopped", metadata: ["error": "\(error)"])
                port.finish()
            }
        }
        for await value in bound { return value }
        running.cancel()
        throw OpenAIError(.internalServerError, "the HTTP server could not listen on \(configuration.host):\(configuration.port)")
    }
}
