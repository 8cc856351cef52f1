import Foundation
import Hummingbird
import SpeculaCluster
import SpeculaModel
import SpeculaNet

/// The API's routes: each decodes its body, checks it (`APIGeneration`), runs it on the
/// coordinator (`GenerationCall`) and writes OpenAI's response shapes.
struct OpenAIRoutes: Sendable {
    let state: ServingState
    let maxBodyBytes: Int
    let metrics: MetricsRegistry

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in
            _ = try state.ready()
            return json(["status": "ok"])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("/v1/models") { _, _ in
            let model = try state.ready().model
            return try encoded(ModelList(data: [.init(id: model.id, created: created(), maxModelLen: model.limits.contextTokens(of: model.target))]))
        }
        router.post("/v1/chat/completions") { request, context in
            let body = try await decode(ChatCompletionRequest.self, request, context)
            let ready = try state.ready()
            let generation = try APIGeneration(body.fields, prompt: .chat(body.messages.map { WireChatMessage(role: $0.role, content: $0.content.text) }),
                                               api: ready.model)
            return try await chat(generation, ready: ready)
        }
        router.post("/v1/completions") { request, context in
            let body = try await decode(CompletionRequest.self, request, context)
            if body.echo == true { throw OpenAIError.invalid("echo", "is not supported") }
            let ready = try state.ready()
            let prompt: APIGeneration.Prompt = switch body.prompt {
            case .text(let text): .text(text)
            case .tokens(let tokens): .tokens(tokens)
            }
            return try await completion(try APIGeneration(body.fields, prompt: prompt, api: ready.model), ready: ready)
        }
        router.post("/tokenize") { request, context in
            let body = try await decode(TokenizeRequest.self, request, context)
            let tokenizer = try self.tokenizer()
            let tokens = tokenizer.encode([(body.content, body.addSpecial ?? false)])
            guard body.withPieces == true else { return try encoded(["tokens": tokens]) }
            struct Piece: Encodable { let id: Int, piece: String }
            return try encoded(["tokens": tokens.map { Piece(id: $0, piece: tokenizer.decode([$0])) }])
        }
        router.post("/detokenize") { request, context in
            let body = try await decode(DetokenizeRequest.self, request, context)
            let tokenizer = try self.tokenizer()
            guard body.tokens.allSatisfy({ (0..<tokenizer.vocabularySize).contains($0) }) else {
                throw OpenAIError.invalid("tokens", "ids must be in 0..<\(tokenizer.vocabularySize)")
            }
            return try encoded(["content": tokenizer.decode(body.tokens)])
        }
    }

    private func tokenizer() throws(OpenAIError) -> Tokenizer {
        guard let tokenizer = try state.ready().model.target.tokenizer else {
            throw OpenAIError(.badRequest, "this server's model has no tokenizer")
        }
        return tokenizer
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T {
        var request = request
        let body = try await request.collectBody(upTo: maxBodyBytes)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: body)) } catch let error as DecodingError {
            throw OpenAIErrorMiddleware<BasicRequestContext>.translate(error)
        }
    }

    // MARK: Chat

    private func chat(_ generation: APIGeneration, ready: ServingState.Ready) async throws -> Response {
        let (id, created, model) = ("chatcmpl-" + randomID(), created(), ready.model.id)
        let call = GenerationCall(generation, on: ready.coordinator)
        guard generation.stream else {
            var texts = Array(repeating: "", count: generation.requests.count)
            var reasons = Array(repeating: "stop", count: generation.requests.count)
            var usage = Usage(promptTokens: generation.promptTokens)
            for try await event in call {
                switch event {
                case .text(let choice, let text): texts[choice] += text
                case .finished(let choice, let done):
                    reasons[choice] = finishReason(done)
                    usage.add(done)
                }
            }
            return try encoded(ChatCompletion(
                id: id, created: created, model: model,
                choices: texts.indices.map { .init(index: $0, message: .init(role: "assistant", content: texts[$0]), finishReason: reasons[$0]) },
                usage: usage))
        }
        let started = try await call.start()
        return eventStream { events in
            var greeted = Set<Int>()
            var usage = Usage(promptTokens: generation.promptTokens)
            func chunk(_ choice: Int, _ delta: ChatCompletionChunk.Delta, finish: String? = nil) async throws {
                try await events.send(ChatCompletionChunk(id: id, created: created, model: model,
                                                          choices: [.init(index: choice, delta: delta, finishReason: finish)]))
            }
            func greet(_ choice: Int) async throws {
                if greeted.insert(choice).inserted { try await chunk(choice, .init(role: "assistant", content: "")) }
            }
            while let event = try await started.next() {
                switch event {
                case .text(let choice, let text):
                    try await greet(choice)
                    try await chunk(choice, .init(content: text))
                case .finished(let choice, let done):
                    try await greet(choice)
                    try await chunk(choice, .init(), finish: finishReason(done))
                    usage.add(done)
                }
            }
            if generation.includeUsage {
                try await events.send(ChatCompletionChunk(id: id, created: created, model: model, choices: [], usage: usage))
            }
        }
    }

    // MARK: Completions

    private func completion(_ generation: APIGeneration, ready: ServingState.Ready) async throws -> Response {
        let (id, created, model) = ("cmpl-" + randomID(), created(), ready.model.id)
        let call = GenerationCall(generation, on: ready.coordinator)
        guard generation.stream else {
            var texts = Array(repeating: "", count: generation.requests.count)
            var reasons = Array(repeating: "stop", count: generation.requests.count)
            var usage = Usage(promptTokens: generation.promptTokens)
            for try await event in call {
                switch event {
                case .text(let choice, let text): texts[choice] += text
                case .finished(let choice, let done):
                    reasons[choice] = finishReason(done)
                    usage.add(done)
                }
            }
            return try encoded(Completion(id: id, created: created, model: model,
                                          choices: texts.indices.map { .init(index: $0, text: texts[$0], finishReason: reasons[$0]) }, usage: usage))
        }
        let started = try await call.start()
        return eventStream { events in
            var usage = Usage(promptTokens: generation.promptTokens)
            while let event = try await started.next() {
                switch event {
                case .text(let choice, let text):
                    try await events.send(Completion(id: id, created: created, model: model, choices: [.init(index: choice, text: text)]))
                case .finished(let choice, let done):
                    usage.add(done)
                    try await events.send(Completion(id: id, created: created, model: model,
                                                     choices: [.init(index: choice, text: "", finishReason: finishReason(done))]))
                }
            }
            if generation.includeUsage {
                try await events.send(Completion(id: id, created: created, model: model, choices: [], usage: usage))
            }
        }
    }

    // MARK: Writing

    /// A `text/event-stream` response: `data: {json}` events, then `data: [DONE]`. An API error
    /// midway is sent as an event (the status line is long gone); a write that fails (the client
    /// left) ends `body`, which cancels its generations.
    private func eventStream(_ body: @escaping @Sendable (inout EventWriter) async throws -> Void) -> Response {
        Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            var events = EventWriter(writer: writer)
            do {
                try await body(&events)
            } catch let error as OpenAIError {
                try await events.write(error.json)
            }
            try await events.write(ByteBuffer(string: "[DONE]"))
            try await events.writer.finish(nil)
        })
    }

    private func json(_ value: [String: String]) -> Response { (try? encoded(value)) ?? Response(status: .internalServerError) }

    private func encoded(_ value: some Encodable) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try apiEncoder.encode(value))))
    }

    private func created() -> Int { Int(Date().timeIntervalSince1970) }

    private func randomID() -> String { String(UInt64.random(in: 0...UInt64.max), radix: 16) }
}

/// Writes server-sent events: `data: …` lines, each event flushed as it is written.
struct EventWriter {
    var writer: any ResponseBodyWriter

    mutating func send(_ value: some Encodable) async throws {
        try await write(ByteBuffer(bytes: try apiEncoder.encode(value)))
    }

    mutating func write(_ payload: ByteBuffer) async throws {
        var buffer = ByteBuffer(string: "data: ")
        var payload = payload
        buffer.writeBuffer(&payload)
        buffer.writeString("\n\n")
        try await writer.write(buffer)
    }
}
