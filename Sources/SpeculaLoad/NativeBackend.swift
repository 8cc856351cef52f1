import SpeculaCluster
package import SpeculaNet

/// A coordinator's native protocol as a load-test backend: a few `SpeculaClient` connections
/// shared round-robin by every simulated client (the protocol multiplexes requests).
package final class NativeBackend: LoadBackend {
    private let clients: [SpeculaClient]
    private let template: GenerateRequest

    /// Connects `connections` clients; `template` gives every request's sampling, verifier, K and γ.
    package init(loop: EventLoop, host: String, port: Int, authSecret: String?, connections: Int, template: GenerateRequest) async throws {
        var clients: [SpeculaClient] = []
        do {
            for _ in 0..<max(1, connections) {
                clients.append(try await SpeculaClient.connect(loop: loop, host: host, port: port, authSecret: authSecret))
            }
        } catch {
            clients.forEach { $0.close() }
            throw LoadTestError.unreachable("\(host):\(port): \(error)")
        }
        self.clients = clients
        self.template = template
    }

    /// The coordinator's target model, by its fingerprint (the protocol names no model).
    package var model: String { clients[0].coordinator.modelFingerprint }

    package func generate(_ request: LoadRequest) -> AsyncThrowingStream<LoadEvent, any Error> {
        let client = clients[request.index % clients.count]
        var generate = template
        let coordinator = client.coordinator
        if coordinator.textPrompts {
            generate.prompt = request.prompt
        } else {
            // A model without a tokenizer (toy, synthetic): the prompt's bytes as token ids.
            generate.promptTokens = request.prompt.utf8.map { UInt32($0) % max(coordinator.vocabSize, 1) }
        }
        generate.maxTokens = UInt32(request.maxTokens)
        generate.seed = request.seed
        let events = client.generate(generate)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in events {
                        switch event {
                        case .chunk(let chunk):
                            if !chunk.tokens.isEmpty { continuation.yield(.chunk(tokens: chunk.tokens.count, passes: chunk.passes)) }
                        case .done(let done):
                            continuation.yield(.done(LoadCompletion(
                                promptTokens: Int(done.promptTokens), outputTokens: Int(done.generatedTokens), rounds: Int(done.rounds),
                                targetPasses: Int(done.targetPasses), acceptedDraftTokens: Int(done.acceptedDraftTokens))))
                        }
                    }
                    continuation.finish()
                } catch SpeculaClient.ClientError.coordinator(let error) {
                    let failure: LoadBackendError = error.code == .unavailable ? .refused(error.message) : .server(error.message)
                    continuation.finish(throwing: failure)
                } catch {
                    continuation.finish(throwing: LoadBackendError.connectionLost("\(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    package func close() async { clients.forEach { $0.close() } }
}
