/// Turns a stream of token ids into text deltas without splitting a UTF-8 character: bytes of an
/// incomplete character wait for the next tokens.
package struct StreamingDecoder {
    private let tokenizer: Tokenizer
    private var pending: [UInt8] = []

    package init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    /// The text completed by `ids`.
    package mutating func append(_ ids: [Int]) -> String {
        pending += tokenizer.bytes(ids)
        // Keep back a trailing incomplete UTF-8 sequence (at most 3 bytes).
        var cut = pending.count
        var back = 0
        while back < min(3, pending.count) {
            let b = pending[pending.count - 1 - back]
            if b & 0xC0 == 0x80 { back += 1; continue }  // continuation byte
            if b & 0x80 != 0 {
                let length = b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : b & 0xF8 == 0xF0 ? 4 : 1
                if back + 1 < length { cut = pending.count - 1 - back }
            }
            break
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Whatever is left (an incomplete character becomes U+FFFD).
    package mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
