import Foundation
package import Hummingbird
import NIOCore

/// An API error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its HTTP
/// status: what every client library parses into its exception types.
package struct OpenAIError: HTTPResponseError, Sendable {
    package let status: HTTPResponse.Status
    package let message: String
    package let type: String
    package let param: String?
    package let code: String?

    package init(_ status: HTTPResponse.Status, _ message: String, type: String? = nil, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type ?? Self.type(of: status)
        self.param = param
        self.code = code
    }

    /// A bad value in a request: 400 naming the field.
    package static func invalid(_ param: String, _ message: String) -> OpenAIError {
        OpenAIError(.badRequest, "\(param): \(message)", param: param)
    }

    private static func type(of status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 404: "not_found_error"
        case 429: "rate_limit_error"
        case 400..<500: "invalid_request_error"
        case 503: "unavailable_error"
        default: "server_error"
        }
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)  // null, not absent, as OpenAI sends it
                try container.encode(code, forKey: .code)
            }

            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }

        let error: Detail
    }

    /// The JSON body (also sent as an SSE event when a stream fails midway).
    package var json: ByteBuffer {
        let body = Body(error: .init(message: message, type: type, param: param, code: code ?? String(status.code)))
        return ByteBuffer(bytes: (try? apiEncoder.encode(body)) ?? Data(#"{"error":{"message":"internal error"}}"#.utf8))
    }

    package func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: json))
    }
}

/// Turns every error a route throws into `OpenAIError`'s shape: decoding errors into 400s naming
/// the field, Hummingbird's own (404, 413, …) with their status, anything else into a 500.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            throw error
        } catch let error as DecodingError {
            throw Self.translate(error)
        } catch is NIOTooManyBytesError {
            throw OpenAIError(.contentTooLarge, "the request body is larger than the server takes (--max-body-bytes)")
        } catch let error as HTTPError {
            let message = error.body ?? (error.status == .notFound ? "no route for \(request.method) \(request.uri.path)"
                : error.status == .contentTooLarge ? "the request body is too large" : error.status.reasonPhrase)
            throw OpenAIError(error.status, message)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw OpenAIError(.internalServerError, "internal error: \(error)")
        }
    }

    static func translate(_ error: DecodingError) -> OpenAIError {
        func field(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let name = field(context.codingPath + [key])
            return .invalid(name, "is required")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return .invalid(field(context.codingPath), "has the wrong type (\(context.debugDescription))")
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return OpenAIError(.badRequest, "the body is not valid JSON: \(context.debugDescription)")
        case .dataCorrupted(let context):
            return .invalid(field(context.codingPath), context.debugDescription)
        @unknown default:
            return OpenAIError(.badRequest, "invalid request: \(error)")
        }
    }
}
