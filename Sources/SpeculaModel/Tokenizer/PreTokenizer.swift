import Foundation

/// Splits text into the pieces BPE merges within, by the model's pre-tokenizer regular expression
/// (llama.cpp's `llama-vocab.cpp` names them by `tokenizer.ggml.pre`).
struct PreTokenizer: @unchecked Sendable {
    // @unchecked Sendable invariant: NSRegularExpression is immutable and documented thread-safe.
    private let stages: [NSRegularExpression]

    /// Pieces are the regex matches; text between matches (never expected) is kept as a piece.
    init(name: String) throws {
        let patterns: [String]
        switch name {
        case "qwen2":
            patterns = [#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]
        case "llama-bpe", "llama3":
            patterns = [#"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]
        case "smollm":
            patterns = [#"\p{N}"#, #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#]
        default:
            patterns = [#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#]
        }
        stages = try patterns.map { try NSRegularExpression(pattern: $0) }
    }

    func split(_ text: String) -> [String] {
        var pieces = [text]
        for regex in stages {
            pieces = pieces.flatMap { split($0, by: regex) }
        }
        return pieces
    }

    /// Matches of `regex`, plus the unmatched text between them, in order.
    private func split(_ text: String, by regex: NSRegularExpression) -> [String] {
        let ns = text as NSString
        var pieces: [String] = []
        var last = 0
        for match in regex.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            if match.range.location > last { pieces.append(ns.substring(with: NSRange(location: last, length: match.range.location - last))) }
            if match.range.length > 0 { pieces.append(ns.substring(with: match.range)) }
            last = match.range.location + match.range.length
        }
        if last < ns.length { pieces.append(ns.substring(from: last)) }
        return pieces
    }
}
