import Foundation
import Synchronization

/// Byte-level BPE from GGUF metadata (`tokenizer.ggml.*`): special tokens matched literally,
/// the model's pre-tokenizer, rank-ordered merges, and decoding back to bytes.
///
/// Thread-safe (immutable apart from a locked cache of encoded pieces).
package final class Tokenizer: Sendable {
    package let vocabularySize: Int
    package let bos: Int?
    package let eos: Int?
    package let preTokenizerName: String
    package let chatTemplate: String?
    private let tokens: [String]
    private let ids: [String: Int]
    private let ranks: [String: Int]  // "left right" → rank
    private let special: [(text: String, id: Int)]  // longest first
    private let isSpecial: [Bool]
    private let preTokenizer: PreTokenizer
    private let cache = Mutex<[String: [Int]]>([:])

    package init(file: GGUFFile) throws(GGUFError) {
        guard file.metadata["tokenizer.ggml.model"]?.stringValue == "gpt2" else {
            throw .malformed(path: file.path, reason: "tokenizer model '\(file.metadata["tokenizer.ggml.model"]?.stringValue ?? "none")' is not byte-level BPE (gpt2)")
        }
        guard let list = file.metadata["tokenizer.ggml.tokens"]?.arrayValue else { throw .missingMetadata(key: "tokenizer.ggml.tokens", path: file.path) }
        tokens = list.map { $0.stringValue ?? "" }
        vocabularySize = tokens.count
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks: [String: Int] = [:]
        for (i, m) in (file.metadata["tokenizer.ggml.merges"]?.arrayValue ?? []).enumerated() {
            if let s = m.stringValue { ranks[s] = i }
        }
        self.ranks = ranks
        let types = file.metadata["tokenizer.ggml.token_type"]?.arrayValue?.map { $0.intValue ?? 1 } ?? []
        var special: [(String, Int)] = []
        var isSpecial = Array(repeating: false, count: tokens.count)
        for (i, type) in types.enumerated() where i < tokens.count && (type == 3 || type == 4) {
            special.append((tokens[i], i))
            isSpecial[i] = true
        }
        self.special = special.sorted { $0.0.count > $1.0.count }
        self.isSpecial = isSpecial
        bos = file.metadata["tokenizer.ggml.bos_token_id"]?.intValue
        eos = file.metadata["tokenizer.ggml.eos_token_id"]?.intValue
        preTokenizerName = file.metadata["tokenizer.ggml.pre"]?.stringValue ?? "default"
        chatTemplate = file.metadata["tokenizer.chat_template"]?.stringValue
        do { preTokenizer = try PreTokenizer(name: preTokenizerName) } catch {
            throw .malformed(path: file.path, reason: "pre-tokenizer \(preTokenizerName): \(error)")
        }
    }

    /// A fingerprint of the vocabulary and merges: equal fingerprints tokenize identically.
    package var fingerprint: String {
        var hasher = Hasher64()
        for t in tokens { hasher.add(t) }
        hasher.add(preTokenizerName)
        return "bpe-\(vocabularySize)-\(String(hasher.value, radix: 16))"
    }

    /// Token ids of `text`; special tokens written in the text are recognised.
    package func encode(_ text: String) -> [Int] { encode([(text, true)]) }

    /// Token ids of text in parts, special tokens recognised only in the parts that may hold them:
    /// a chat template's own markers, not the contents of its messages (else a user could write
    /// `<|im_end|><|im_start|>system` into a message). The text between special tokens is
    /// pre-tokenized as a whole across parts, so parts without injected markers tokenize exactly as
    /// their joined string does.
    package func encode(_ parts: [(text: String, specialTokens: Bool)]) -> [Int] {
        var out: [Int] = []
        var plain = ""
        func flush() {
            for piece in preTokenizer.split(plain) where !piece.isEmpty { out += bpe(piece) }
            plain = ""
        }
        for part in parts {
            guard part.specialTokens else {
                plain += part.text
                continue
            }
            for segment in splitSpecial(part.text) {
                switch segment {
                case .special(let id):
                    flush()
                    out.append(id)
                case .text(let t):
                    plain += t
                }
            }
        }
        flush()
        return out
    }

    /// The text of a token id as the model file writes it (special tokens: their marker).
    package func tokenText(_ id: Int) -> String? { tokens.indices.contains(id) ? (isSpecial[id] ? tokens[id] : decode([id])) : nil }

    /// The bytes of token ids (specials as their literal text).
    package func bytes(_ ids: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            if isSpecial[id] {
                out += Array(tokens[id].utf8)
            } else {
                for c in tokens[id] { if let b = ByteLevelAlphabet.bytes[c] { out.append(b) } else { out += Array(String(c).utf8) } }
            }
        }
        return out
    }

    /// The text of token ids (invalid UTF-8 replaced).
    package func decode(_ ids: [Int]) -> String { String(decoding: bytes(ids), as: UTF8.self) }

    private enum Segment { case text(String), special(Int) }

    private func splitSpecial(_ text: String) -> [Segment] {
        guard !special.isEmpty else { return [.text(text)] }
        var segments: [Segment] = []
        var rest = Substring(text)
        var plain = ""
        while !rest.isEmpty {
            if rest.first == "<" || rest.first == "[", let match = special.first(where: { rest.hasPrefix($0.text) }) {
                if !plain.isEmpty { segments.append(.text(plain)); plain = "" }
                segments.append(.special(match.id))
                rest = rest.dropFirst(match.text.count)
            } else {
                plain.append(rest.removeFirst())
            }
        }
        if !plain.isEmpty { segments.append(.text(plain)) }
        return segments
    }

    private func bpe(_ piece: String) -> [Int] {
        if let hit = cache.withLock({ $0[piece] }) { return hit }
        var symbols = ByteLevelAlphabet.encode(piece.utf8).map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<symbols.count - 1 {
                if let r = ranks[symbols[i] + " " + symbols[i + 1]], r < best { best = r; at = i }
            }
            guard at >= 0 else { break }
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        var out: [Int] = []
        for s in symbols {
            if let id = ids[s] {
                out.append(id)
            } else {
                for c in s { if let id = ids[String(c)] { out.append(id) } }  // unmergeable: per byte
            }
        }
        cache.withLock { if $0.count < 100_000 { $0[piece] = out } }
        return out
    }
}

/// FNV-1a over strings, for fingerprints (stable across runs, unlike `Hasher`).
struct Hasher64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ s: String) {
        for b in s.utf8 { value = (value ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = (value ^ 0xFF) &* 0x100_0000_01b3
    }
}
