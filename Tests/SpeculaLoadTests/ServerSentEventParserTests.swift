import Testing
import SpeculaLoad

/// The event-stream parser on the shapes servers send: every way of cutting the bytes gives the
/// same events, in every line-ending convention.
struct ServerSentEventParserTests {
    static let stream = "data: {\"a\":1}\n\n: keep-alive comment\n\nevent: x\ndata: two\ndata:lines\nid: 7\n\ndata: [DONE]\n\n"
    static let events = ["{\"a\":1}", "two\nlines", "[DONE]"]

    @Test func everySplitOfTheStreamGivesTheSameEvents() {
        let bytes = Array(Self.stream.utf8)
        for cut in 0...bytes.count {
            for second in cut...bytes.count {
                var parser = ServerSentEventParser()
                let events = parser.feed(bytes[..<cut]) + parser.feed(bytes[cut..<second]) + parser.feed(bytes[second...])
                #expect(events == Self.events, "cut at \(cut), \(second)")
            }
        }
    }

    @Test func crlfAndCrLineEndingsAreLineEndings() {
        for ending in ["\r\n", "\r"] {
            var parser = ServerSentEventParser()
            let bytes = Array(Self.stream.replacingOccurrences(of: "\n", with: ending).utf8)
            // A CRLF split between two reads is still one line ending.
            var events: [String] = []
            for byte in bytes { events += parser.feed([byte]) }
            #expect(events == Self.events, "line ending \(Array(ending.utf8))")
        }
    }

    @Test func anEventNotYetEndedByABlankLineIsHeldBack() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array("data: partial\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)) == ["partial"])
        #expect(parser.feed(Array("data:\n\n".utf8)) == [""], "an empty data line is an event with empty data")
        #expect(parser.feed(Array("retry: 5\n\n".utf8)).isEmpty, "an event with no data is not dispatched")
    }

    @Test func serverURLsAreReadAsABaseAndAnAPIPath() throws {
        func parsed(_ url: String) throws -> String {
            let (host, port, path) = try OpenAIBackend.parse(url)
            return "\(host) \(port) \(path)"
        }
        #expect(try parsed("http://127.0.0.1:8080") == "127.0.0.1 8080 /v1")
        #expect(try parsed("http://localhost:9/v1/") == "localhost 9 /v1")
        #expect(try parsed("http://gateway/openai") == "gateway 80 /openai/v1")
        for bad in ["https://127.0.0.1:8080", "127.0.0.1:8080", "http://:80"] {
            #expect(throws: LoadTestError.self, "\(bad)") { try OpenAIBackend.parse(bad) }
        }
    }
}
