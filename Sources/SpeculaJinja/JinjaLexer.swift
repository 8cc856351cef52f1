/// One lexical token inside a `{{ … }}` or `{% … %}` tag.
enum JinjaToken: Equatable {
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case symbol(String)
}

/// A template cut into literal text and tags, whitespace control already applied.
enum JinjaPiece: Equatable {
    case text(String)
    case output([JinjaToken], line: Int)
    case statement([JinjaToken], line: Int)
}

/// Cuts template source into `JinjaPiece`s the way jinja2's lexer does with the settings chat
/// templates are written for (those of Hugging Face's `apply_chat_template`): `trim_blocks` (the
/// newline after a block tag goes), `lstrip_blocks` (spaces before a block tag on its own line go),
/// `-`/`+` whitespace control on either side of a tag, comments dropped, newlines normalised to
/// `\n`, and one trailing newline of the source dropped.
struct JinjaLexer {
    private let source: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    /// Whether the last thing consumed ended with a newline (jinja2's `line_starting`).
    private var lineStarting = true
    private var pieces: [JinjaPiece] = []

    static func pieces(of template: String) throws(JinjaError) -> [JinjaPiece] {
        var lexer = JinjaLexer(template)
        return try lexer.run()
    }

    private init(_ template: String) {
        var scalars: [Unicode.Scalar] = []
        var previousWasReturn = false
        for scalar in template.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
            } else if !(scalar == "\n" && previousWasReturn) {
                scalars.append(scalar)
            }
            previousWasReturn = scalar == "\r"
        }
        if scalars.last == "\n" { scalars.removeLast() }
        source = scalars
    }

    private enum TagKind { case output, statement, comment }

    private mutating func run() throws(JinjaError) -> [JinjaPiece] {
        while position < source.count {
            guard let (start, kind) = nextTag() else {
                appendText(source[position...])
                break
            }
            var text = source[position..<start]
            position = start + 2
            let sign = position < source.count && (source[position] == "-" || source[position] == "+") ? source[position] : nil
            if sign != nil { position += 1 }
            if sign == "-" {
                while let last = text.last, last.properties.isWhitespace { text = text.dropLast() }
            } else if sign != "+" && kind != .output {
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? text.startIndex
                let rest = text[lineStart...]
                if (lineStart > text.startIndex || lineStarting) && !rest.isEmpty && rest.allSatisfy(\.properties.isWhitespace) {
                    text = text[..<lineStart]
                }
            }
            appendText(text)
            lineStarting = false
            let tagLine = line
            switch kind {
            case .comment: try skipComment()
            case .output: pieces.append(.output(try tokens(until: .output), line: tagLine))
            case .statement: pieces.append(.statement(try tokens(until: .statement), line: tagLine))
            }
        }
        return pieces
    }

    private func nextTag() -> (Int, TagKind)? {
        var i = position
        while i + 1 < source.count {
            if source[i] == "{" {
                switch source[i + 1] {
                case "{": return (i, .output)
                case "%": return (i, .statement)
                case "#": return (i, .comment)
                default: break
                }
            }
            i += 1
        }
        return nil
    }

    private mutating func appendText(_ scalars: ArraySlice<Unicode.Scalar>) {
        guard !scalars.isEmpty else { return }
        line += scalars.count { $0 == "\n" }
        var string = ""
        string.unicodeScalars.append(contentsOf: scalars)
        pieces.append(.text(string))
    }

    private mutating func skipComment() throws(JinjaError) {
        while position + 1 < source.count {
            if source[position] == "#" && source[position + 1] == "}" {
                let minus = position > 0 && source[position - 1] == "-"
                let plus = position > 0 && source[position - 1] == "+"
                position += 2
                finishTag(strip: minus, trim: !plus)
                return
            }
            if source[position] == "\n" { line += 1 }
            position += 1
        }
        throw JinjaError(.syntax, "missing end of comment tag", line: line)
    }

    /// After a tag's end: `-` strips the whitespace that follows, otherwise a block's newline goes.
    private mutating func finishTag(strip: Bool, trim: Bool) {
        if strip {
            while position < source.count, source[position].properties.isWhitespace {
                lineStarting = source[position] == "\n"
                if source[position] == "\n" { line += 1 }
                position += 1
            }
        } else if trim, position < source.count, source[position] == "\n" {
            position += 1
            line += 1
            lineStarting = true
        }
    }

    private mutating func tokens(until kind: TagKind) throws(JinjaError) -> [JinjaToken] {
        var tokens: [JinjaToken] = []
        var open: [Unicode.Scalar] = []
        let closer: Unicode.Scalar = kind == .output ? "}" : "%"
        while position < source.count {
            let c = source[position]
            if c.properties.isWhitespace {
                if c == "\n" { line += 1 }
                position += 1
                continue
            }
            if open.isEmpty, let end = tagEnd(closer) {
                position = end.next
                finishTag(strip: end.minus, trim: kind == .statement && !end.plus)
                return tokens
            }
            if c == "'" || c == "\"" {
                tokens.append(.string(try stringLiteral()))
            } else if c.properties.numericType != nil, c.isASCII {
                tokens.append(number())
            } else if c == "_" || (c.isASCII && c.properties.isAlphabetic) {
                let start = position
                while position < source.count, source[position] == "_" || (source[position].isASCII && (source[position].properties.isAlphabetic || source[position].properties.numericType != nil)) {
                    position += 1
                }
                tokens.append(.name(Self.string(source[start..<position])))
            } else {
                let symbol = try self.symbol()
                switch symbol {
                case "(": open.append(")")
                case "[": open.append("]")
                case "{": open.append("}")
                case ")", "]", "}":
                    guard open.popLast().map({ String($0) }) == symbol else {
                        throw JinjaError(.syntax, "unexpected '\(symbol)'", line: line)
                    }
                default: break
                }
                tokens.append(.symbol(symbol))
            }
        }
        throw JinjaError(.syntax, "missing end of tag", line: line)
    }

    /// The tag's end at the current position: `}}`/`-}}` or `%}`/`-%}`/`+%}`.
    private func tagEnd(_ closer: Unicode.Scalar) -> (next: Int, minus: Bool, plus: Bool)? {
        var i = position
        let sign = source[i] == "-" || source[i] == "+" ? source[i] : nil
        if sign != nil { i += 1 }
        guard i + 1 < source.count, source[i] == closer, source[i + 1] == "}" else { return nil }
        if sign == "+" && closer == "}" { return nil }
        return (i + 2, sign == "-", sign == "+")
    }

    private static let symbols = ["**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")",
                                  "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"]

    private mutating func symbol() throws(JinjaError) -> String {
        for symbol in Self.symbols {
            let scalars = Array(symbol.unicodeScalars)
            if position + scalars.count <= source.count, Array(source[position..<position + scalars.count]) == scalars {
                position += scalars.count
                return symbol
            }
        }
        throw JinjaError(.syntax, "unexpected character '\(source[position])'", line: line)
    }

    private mutating func number() -> JinjaToken {
        let start = position
        func digits() { while position < source.count, source[position].isASCII, source[position].properties.numericType != nil || source[position] == "_" { position += 1 } }
        digits()
        var isFloat = false
        if position + 1 < source.count, source[position] == ".", source[position + 1].properties.numericType != nil {
            isFloat = true
            position += 1
            digits()
        }
        if position < source.count, source[position] == "e" || source[position] == "E" {
            var i = position + 1
            if i < source.count, source[i] == "+" || source[i] == "-" { i += 1 }
            if i < source.count, source[i].properties.numericType != nil {
                isFloat = true
                position = i
                digits()
            }
        }
        let text = Self.string(source[start..<position]).replacingOccurrences(of: "_", with: "")
        return isFloat ? .float(Double(text) ?? 0) : .integer(Int(text) ?? Int.max)
    }

    /// A quoted literal with Python's escapes (`\n`, `\t`, `\\`, `\'`, `\xhh`, `\uhhhh`, …).
    private mutating func stringLiteral() throws(JinjaError) -> String {
        let quote = source[position]
        position += 1
        var out = String.UnicodeScalarView()
        while position < source.count {
            let c = source[position]
            position += 1
            if c == quote { return String(out) }
            if c == "\n" { line += 1 }
            guard c == "\\", position < source.count else { out.append(c); continue }
            let e = source[position]
            position += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "0": out.append("\0")
            case "\\", "'", "\"": out.append(e)
            case "\n": line += 1
            case "x", "u", "U":
                let width = e == "x" ? 2 : e == "u" ? 4 : 8
                let hex = position + width <= source.count ? Self.string(source[position..<position + width]) : ""
                if let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) {
                    out.append(scalar)
                    position += width
                } else {
                    out.append("\\"); out.append(e)
                }
            default:
                out.append("\\"); out.append(e)
            }
        }
        throw JinjaError(.syntax, "unterminated string", line: line)
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var string = ""
        string.unicodeScalars.append(contentsOf: scalars)
        return string
    }
}
