import Hummingbird

/// Requires `Authorization: Bearer KEY` with one of the server's API keys on every path but
/// `/health` (load balancers probe it without credentials). Keys are compared in constant time.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]

    init(keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/health" else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), matches(Array(header.utf8.dropFirst(7))) else {
            throw OpenAIError(.unauthorized, header.isEmpty ? "an API key is required: send Authorization: Bearer KEY"
                                                             : "Incorrect API key provided", code: "invalid_api_key")
        }
        return try await next(request, context)
    }

    private func matches(_ candidate: [UInt8]) -> Bool {
        var found = false
        for key in keys {
            var difference = UInt8(key.count == candidate.count ? 0 : 1)
            for i in 0..<min(key.count, candidate.count) { difference |= key[i] ^ candidate[i] }
            found = found || difference == 0
        }
        return found
    }
}
