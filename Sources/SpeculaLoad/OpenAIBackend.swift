import Foundation
import NIOCore
import NIOHTTP1
package import SpeculaNet

/// Any OpenAI-compatible server — Specula's `--http-port`, llama.cpp's `llama-server`, vLLM,
/// SGLang, TGI — as a load-test backend. Each request is one streamed call of
/// `/v1/chat/completions` (the prompt as one user message) or `/v1/completions`, with
/// `stream_options.include_usage` so the server's own token counts end it. Timing follows
/// vLLM's `benchmark_serving`: the first chunk with text is the first token, and each later
/// chunk with text is one inter-token gap.
package final class OpenAIBackend: LoadBackend {
    package enum Endpoint: String, Sendable, CaseIterable {
        case chat, completions
    }

    private let pool: HTTPConnectionPool
    private let authority: String
    private let path: String
    private let apiKey: String?
    private let endpoint: Endpoint
    private let template: GenerateRequest
    /// The model every request names: `--model`, or the first the server lists.
    package let model: String

    /// Connects to `url` (`http://HOST:PORT`, optionally with a path prefix such as `/v1`) and
    /// learns the served model's name unless `model` gives it. `template` carries the sampling,
    /// verifier, K and γ of every request; the speculative ones are sent as Specula's extension
    /// fields only when set, so other servers see a plain OpenAI request.
    package init(url: String, apiKey: String?, endpoint: Endpoint, model: String?, template: GenerateRequest) async throws {
        let base = try Self.parse(url)
        pool = HTTPConnectionPool(host: base.host, port: base.port)
        authority = "\(base.host):\(base.port)"
        path = base.path
        self.apiKey = apiKey
        self.endpoint = endpoint
        self.template = template
        if let model {
            self.model = model
        } else {
            do {
                self.model = try await Self.servedModel(pool: pool, head: Self.head(.GET, base.path + "/models", authority: authority, apiKey: apiKey))
            } catch {
                pool.close()
                throw error
            }
        }
    }

    package func generate(_ request: LoadRequest) -> AsyncThrowingStream<LoadEvent, any Error> {
        let body: ByteBuffer
        do { body = ByteBuffer(bytes: try JSONEncoder().encode(requestBody(request))) } catch {
            return AsyncThrowingStream { $0.finish(throwing: error) }
        }
        var head = Self.head(.POST, path + (endpoint == .chat ? "/chat/completions" : "/completions"), authority: authority, apiKey: apiKey)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Accept", value: "text/event-stream")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        let response = pool.send(head, body: body)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await Self.read(response, into: continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    package func close() async { pool.close() }

    // MARK: Requests

    /// The JSON body of one request; optional fields are left out when not set.
    private struct RequestBody: Encodable {
        struct Message: Encodable { let role: String, content: String }
        struct StreamOptions: Encodable { let include_usage = true }
        struct Speculative: Encodable {
            var num_drafts: Int?
            var block_length: Int?
            var verifier: String?
            var enabled: Bool?
        }
        var model: String
        var messages: [Message]?
        var prompt: String?
        var max_tokens: Int
        var temperature: Double
        var top_p: Double?
        var top_k: Int?
        var min_p: Double?
        var seed: Int64
        var stream = true
        var stream_options = StreamOptions()
        var speculative: Speculative?
    }

    private func requestBody(_ request: LoadRequest) -> RequestBody {
        let sampling = template.sampling ?? WireSampling()
        var body = RequestBody(model: model, max_tokens: request.maxTokens, temperature: sampling.temperature,
                               seed: Int64(bitPattern: request.seed))
        switch endpoint {
        case .chat: body.messages = [.init(role: "user", content: request.prompt)]
        case .completions: body.prompt = request.prompt
        }
        if sampling.topP > 0, sampling.topP < 1 { body.top_p = sampling.topP }
        if sampling.topK > 0 { body.top_k = Int(sampling.topK) }
        if sampling.minP > 0 { body.min_p = sampling.minP }
        var speculative = RequestBody.Speculative()
        if template.numDrafts > 0 { speculative.num_drafts = Int(template.numDrafts) }
        if template.blockLength > 0 { speculative.block_length = Int(template.blockLength) }
        if !template.verifier.isEmpty { speculative.verifier = template.verifier }
        if template.noDraft { speculative.enabled = false }
        if speculative.num_drafts != nil || speculative.block_length != nil || speculative.verifier != nil || speculative.enabled != nil {
            body.speculative = speculative
        }
        return body
    }

    private static func head(_ method: HTTPMethod, _ path: String, authority: String, apiKey: String?) -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: authority)
        if let apiKey { head.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        return head
    }

    // MARK: Responses

    /// One streamed chunk, of either endpoint; only what the load test reads.
    private struct Chunk: Decodable {
        struct Choice: Decodable {
            struct Delta: Decodable { let content: String? }
            let delta: Delta?
            let text: String?
        }
        struct Usage: Decodable {
            struct Speculative: Decodable {
                let target_passes: Int?
                let accepted_draft_tokens: Int?
                let rounds: Int?
            }
            let prompt_tokens: Int?
            let completion_tokens: Int?
            let speculative: Speculative?
        }
        let choices: [Choice]?
        let usage: Usage?
        let error: ErrorBody?
    }

    private struct ErrorBody: Decodable { let message: String? }
    private struct ErrorResponse: Decodable { let error: ErrorBody? }

    /// Reads one response: its status, then its events into `continuation`.
    private static func read(_ response: AsyncThrowingStream<HTTPConnectionPool.ResponsePart, any Error>,
                             into continuation: AsyncThrowingStream<LoadEvent, any Error>.Continuation) async throws {
        var status: HTTPResponseStatus?
        var errorBody = ByteBuffer()
        var parser = ServerSentEventParser()
        var completion = LoadCompletion()
        var chunks = 0
        var finished = false
        for try await part in response {
            switch part {
            case .head(let head):
                status = head.status
            case .body(var bytes) where status != .ok:
                errorBody.writeBuffer(&bytes)
            case .body(let bytes):
                for data in parser.feed(bytes.readableBytesView) {
                    if data == "[DONE]" {
                        finished = true
                        continue
                    }
                    let chunk = try JSONDecoder().decode(Chunk.self, from: Data(data.utf8))
                    if let error = chunk.error { throw LoadBackendError.server(error.message ?? data) }
                    let text = chunk.choices?.reduce(into: "") { $0 += $1.delta?.content ?? $1.text ?? "" } ?? ""
                    if !text.isEmpty {
                        chunks += 1
                        continuation.yield(.chunk(tokens: 0, passes: []))
                    }
                    if let usage = chunk.usage {
                        completion.promptTokens = usage.prompt_tokens ?? 0
                        completion.outputTokens = usage.completion_tokens ?? 0
                        completion.targetPasses = usage.speculative?.target_passes ?? 0
                        completion.acceptedDraftTokens = usage.speculative?.accepted_draft_tokens ?? 0
                        completion.rounds = usage.speculative?.rounds ?? 0
                    }
                }
            }
        }
        guard let status else { throw LoadBackendError.connectionLost("no response") }
        guard status == .ok else {
            let message = (try? JSONDecoder().decode(ErrorResponse.self, from: Data(errorBody.readableBytesView)))?.error?.message
                ?? String(buffer: errorBody)
            let why = "HTTP \(status.code): \(message)"
            throw status == .tooManyRequests || status == .serviceUnavailable ? LoadBackendError.refused(why) : LoadBackendError.server(why)
        }
        guard finished else { throw LoadBackendError.connectionLost("the event stream ended before [DONE]") }
        // A server without usage in its stream: each chunk counted as one token.
        if completion.outputTokens == 0 { completion.outputTokens = chunks }
        continuation.yield(.done(completion))
    }

    private static func servedModel(pool: HTTPConnectionPool, head: HTTPRequestHead) async throws -> String {
        struct Models: Decodable {
            struct Entry: Decodable { let id: String }
            let data: [Entry]
        }
        let (response, body) = try await pool.fetch(head)
        guard response.status == .ok else {
            throw LoadTestError.unreachable("GET \(head.uri) answered \(response.status.code): \(String(buffer: body))")
        }
        guard let model = (try? JSONDecoder().decode(Models.self, from: Data(body.readableBytesView)))?.data.first?.id else {
            throw LoadTestError.unreachable("GET \(head.uri) listed no model; name one with --model")
        }
        return model
    }

    // MARK: URLs

    /// `http://HOST[:PORT][/prefix]` → host, port (80 by default) and the API's base path
    /// (`/v1` added unless the prefix ends in it).
    package static func parse(_ url: String) throws -> (host: String, port: Int, path: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw LoadTestError.badInput("'\(url)' is not a URL; expected http://HOST:PORT")
        }
        guard scheme == "http" else {
            throw LoadTestError.badInput("'\(url)': only plain http:// is supported (put a TLS-terminating proxy in front for https)")
        }
        guard let host = components.host, !host.isEmpty else { throw LoadTestError.badInput("'\(url)' names no host") }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        if !path.hasSuffix("/v1") { path += "/v1" }
        return (host, components.port ?? 80, path)
    }
}
