import Foundation
import SpeculaModel
import Testing

/// Streaming detokenization never splits a UTF-8 character.
struct StreamingDecoderTests {
    @Test func charactersSplitAcrossTokensComeOutWhole() throws {
        let path = ModelStore().path(of: ModelCatalog.qwenDraft).path
        try #require(FileManager.default.fileExists(atPath: path), "run `specula models fetch qwen2.5-coder-0.5b` (make test does)")
        let tokenizer = try Tokenizer(file: GGUFFile(path: path))
        let text = "naïve 🤖 你好 Здравствуйте 🇫🇷!"
        let ids = tokenizer.encode(text)
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.append([id])) }
        pieces.append(decoder.finish())
        #expect(pieces.joined() == text)
        #expect(!pieces.contains { $0.contains("\u{FFFD}") }, "a delta contained a broken character: \(pieces)")
    }
}
