/// Parses a template's pieces into nodes: statements by recursive descent over the tags, expressions
/// with jinja2's precedence (`or` < `and` < `not` < comparisons < `+ -` < `~` < `* / // %` < `**`
/// < unary minus < filters and tests < postfix `.a [i] (…)`).
struct JinjaParser {
    private let pieces: [JinjaPiece]
    private var index = 0

    static func parse(_ template: String) throws(JinjaError) -> [JinjaNode] {
        var parser = JinjaParser(pieces: try JinjaLexer.pieces(of: template))
        let (nodes, end) = try parser.body(until: [])
        if let end { throw JinjaError(.syntax, "unexpected '\(end.keyword)'", line: end.line) }
        return nodes
    }

    private init(pieces: [JinjaPiece]) { self.pieces = pieces }

    /// The tag that ended a body: its keyword and the rest of its tokens.
    private struct End {
        let keyword: String
        var tokens: JinjaTokenStream
        let line: Int
    }

    private mutating func body(until ends: Set<String>) throws(JinjaError) -> ([JinjaNode], End?) {
        var nodes: [JinjaNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let text):
                nodes.append(.text(text))
            case .output(let tokens, let line):
                var stream = JinjaTokenStream(tokens, line: line)
                let expression = try stream.expression()
                try stream.expectEnd()
                nodes.append(.output(expression, line: line))
            case .statement(let tokens, let line):
                var stream = JinjaTokenStream(tokens, line: line)
                guard case .name(let keyword) = stream.next() else { throw JinjaError(.syntax, "expected a statement", line: line) }
                if ends.contains(keyword) { return (nodes, End(keyword: keyword, tokens: stream, line: line)) }
                if let node = try statement(keyword, &stream, line: line) { nodes.append(node) }
            }
        }
        guard ends.isEmpty else { throw JinjaError(.syntax, "missing \(ends.sorted().joined(separator: " or "))", line: nil) }
        return (nodes, nil)
    }

    private mutating func statement(_ keyword: String, _ stream: inout JinjaTokenStream, line: Int) throws(JinjaError) -> JinjaNode? {
        switch keyword {
        case "if":
            var branches = [(condition: try stream.expression(), body: [JinjaNode]())]
            try stream.expectEnd()
            while true {
                let (nodes, end) = try body(until: ["elif", "else", "endif"])
                branches[branches.count - 1].body = nodes
                guard var end else { break }
                switch end.keyword {
                case "elif":
                    branches.append((try end.tokens.expression(), []))
                    try end.tokens.expectEnd()
                case "else":
                    try end.tokens.expectEnd()
                    let (otherwise, _) = try bodyEnding("endif")
                    return .if(branches, otherwise: otherwise, line: line)
                default:
                    return .if(branches, otherwise: [], line: line)
                }
            }
            return .if(branches, otherwise: [], line: line)
        case "for":
            let targets = try stream.names()
            try stream.expectName("in")
            let iterable = try stream.expression(conditional: false)
            var condition: JinjaExpression?
            if stream.skipName("if") { condition = try stream.expression() }
            _ = stream.skipName("recursive")
            try stream.expectEnd()
            let (nodes, end) = try body(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if end?.keyword == "else" { (otherwise, _) = try bodyEnding("endfor") }
            return .for(JinjaForLoop(targets: targets, iterable: iterable, condition: condition, body: nodes, otherwise: otherwise), line: line)
        case "set":
            let targets = try stream.names()
            if targets.count == 1, stream.skipSymbol(".") {
                let attribute = try stream.name()
                try stream.expectSymbol("=")
                let value = try stream.expression()
                try stream.expectEnd()
                return .set(.attribute(object: targets[0], attribute: attribute), value, line: line)
            }
            if stream.skipSymbol("=") {
                let value = try stream.expression()
                try stream.expectEnd()
                return .set(.names(targets), value, line: line)
            }
            try stream.expectEnd()
            let (nodes, _) = try bodyEnding("endset")
            return .setBlock(targets[0], nodes, line: line)
        case "macro":
            let name = try stream.name()
            try stream.expectSymbol("(")
            var parameters: [(String, JinjaExpression?)] = []
            while !stream.skipSymbol(")") {
                if !parameters.isEmpty { try stream.expectSymbol(",") }
                let parameter = try stream.name()
                parameters.append((parameter, stream.skipSymbol("=") ? try stream.expression() : nil))
            }
            try stream.expectEnd()
            let (nodes, _) = try bodyEnding("endmacro")
            return .macro(JinjaMacro(name: name, parameters: parameters, body: nodes))
        case "break":
            try stream.expectEnd()
            return .break
        case "continue":
            try stream.expectEnd()
            return .continue
        case "generation", "endgeneration":
            // Hugging Face's marker of assistant text (for training masks): renders its body as is.
            try stream.expectEnd()
            return nil
        default:
            throw JinjaError(.syntax, "unknown statement '\(keyword)'", line: line)
        }
    }

    private mutating func bodyEnding(_ keyword: String) throws(JinjaError) -> ([JinjaNode], End?) {
        let (nodes, end) = try body(until: [keyword])
        if var end { try end.tokens.expectEnd() }
        return (nodes, end)
    }
}

/// The tokens of one tag, consumed from the front by the expression grammar.
struct JinjaTokenStream {
    private let tokens: [JinjaToken]
    private var index = 0
    let line: Int

    init(_ tokens: [JinjaToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    mutating func next() -> JinjaToken? {
        guard index < tokens.count else { return nil }
        defer { index += 1 }
        return tokens[index]
    }

    private var current: JinjaToken? { index < tokens.count ? tokens[index] : nil }

    private func error(_ message: String) -> JinjaError { JinjaError(.syntax, message, line: line) }

    func expectEnd() throws(JinjaError) {
        if let current { throw error("unexpected \(current) at the end of the tag") }
    }

    mutating func skipSymbol(_ symbol: String) -> Bool {
        guard current == .symbol(symbol) else { return false }
        index += 1
        return true
    }

    mutating func skipName(_ name: String) -> Bool {
        guard current == .name(name) else { return false }
        index += 1
        return true
    }

    mutating func expectSymbol(_ symbol: String) throws(JinjaError) {
        guard skipSymbol(symbol) else { throw error("expected '\(symbol)'") }
    }

    mutating func expectName(_ name: String) throws(JinjaError) {
        guard skipName(name) else { throw error("expected '\(name)'") }
    }

    mutating func name() throws(JinjaError) -> String {
        guard case .name(let name) = current else { throw error("expected a name") }
        index += 1
        return name
    }

    /// `a` or `a, b` (optionally in parentheses): the targets of `for` and `set`.
    mutating func names() throws(JinjaError) -> [String] {
        let parenthesized = skipSymbol("(")
        var names = [try name()]
        while skipSymbol(",") { names.append(try name()) }
        if parenthesized { try expectSymbol(")") }
        return names
    }

    // MARK: Expressions, lowest precedence first

    mutating func expression(conditional: Bool = true) throws(JinjaError) -> JinjaExpression {
        let value = try or()
        guard conditional, skipName("if") else { return value }
        let condition = try or()
        let otherwise = skipName("else") ? try expression() : nil
        return .conditional(condition: condition, then: value, otherwise: otherwise)
    }

    private mutating func or() throws(JinjaError) -> JinjaExpression {
        var left = try and()
        while skipName("or") { left = .or(left, try and()) }
        return left
    }

    private mutating func and() throws(JinjaError) -> JinjaExpression {
        var left = try not()
        while skipName("and") { left = .and(left, try not()) }
        return left
    }

    private mutating func not() throws(JinjaError) -> JinjaExpression {
        if skipName("not") { return .unary("not", try not()) }
        return try comparison()
    }

    private static let comparisons: Set<String> = ["==", "!=", "<", "<=", ">", ">="]

    private mutating func comparison() throws(JinjaError) -> JinjaExpression {
        var left = try sum()
        while true {
            if case .symbol(let op) = current, Self.comparisons.contains(op) {
                index += 1
                left = .binary(op, left, try sum())
            } else if skipName("in") {
                left = .binary("in", left, try sum())
            } else if current == .name("not"), index + 1 < tokens.count, tokens[index + 1] == .name("in") {
                index += 2
                left = .unary("not", .binary("in", left, try sum()))
            } else {
                return left
            }
        }
    }

    private mutating func sum() throws(JinjaError) -> JinjaExpression {
        var left = try concatenation()
        while case .symbol(let op) = current, op == "+" || op == "-" {
            index += 1
            left = .binary(op, left, try concatenation())
        }
        return left
    }

    private mutating func concatenation() throws(JinjaError) -> JinjaExpression {
        var left = try product()
        while skipSymbol("~") { left = .binary("~", left, try product()) }
        return left
    }

    private mutating func product() throws(JinjaError) -> JinjaExpression {
        var left = try power()
        while case .symbol(let op) = current, ["*", "/", "//", "%"].contains(op) {
            index += 1
            left = .binary(op, left, try power())
        }
        return left
    }

    private mutating func power() throws(JinjaError) -> JinjaExpression {
        var left = try unary()
        while skipSymbol("**") { left = .binary("**", left, try unary()) }
        return left
    }

    private mutating func unary(withFilters: Bool = true) throws(JinjaError) -> JinjaExpression {
        var value: JinjaExpression
        if skipSymbol("-") {
            value = .unary("-", try unary(withFilters: false))
        } else if skipSymbol("+") {
            value = try unary(withFilters: false)
        } else {
            value = try postfix(try primary())
        }
        return withFilters ? try filters(value) : value
    }

    private mutating func filters(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
        var value = base
        while true {
            if skipSymbol("|") {
                let name = try dottedName()
                value = .filter(value, name: name, current == .symbol("(") ? try arguments() : JinjaArguments())
            } else if skipName("is") {
                let negated = skipName("not")
                let name = try dottedName()
                var arguments = JinjaArguments()
                if current == .symbol("(") {
                    arguments = try self.arguments()
                } else if let current, startsArgument(current) {
                    arguments.positional = [try postfix(try primary())]
                }
                value = .test(value, name: name, arguments, negated: negated)
            } else if current == .symbol("(") {
                value = .call(value, try arguments())
            } else {
                return value
            }
        }
    }

    private func startsArgument(_ token: JinjaToken) -> Bool {
        switch token {
        case .name(let name): return !["else", "or", "and", "if", "in", "not", "is"].contains(name)
        case .string, .integer, .float: return true
        case .symbol(let s): return s == "[" || s == "{"
        }
    }

    private mutating func dottedName() throws(JinjaError) -> String {
        var name = try self.name()
        while skipSymbol(".") { name += "." + (try self.name()) }
        return name
    }

    private mutating func postfix(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
        var value = base
        while true {
            if skipSymbol(".") {
                switch next() {
                case .name(let name): value = .attribute(value, name)
                case .integer(let i): value = .item(value, .literal(.int(i)))
                default: throw error("expected an attribute name after '.'")
                }
            } else if skipSymbol("[") {
                value = try subscripted(value)
            } else if current == .symbol("(") {
                value = .call(value, try arguments())
            } else {
                return value
            }
        }
    }

    private mutating func subscripted(_ base: JinjaExpression) throws(JinjaError) -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var sliced = false
        while !skipSymbol("]") {
            if skipSymbol(":") {
                sliced = true
                parts.append(nil)
            } else {
                guard parts[parts.count - 1] == nil else { throw error("expected ']'") }
                parts[parts.count - 1] = try expression()
            }
        }
        guard sliced else {
            guard let key = parts[0] else { throw error("empty subscript") }
            return .item(base, key)
        }
        guard parts.count <= 3 else { throw error("a slice has at most three parts") }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil, step: parts.count > 2 ? parts[2] : nil)
    }

    private mutating func arguments() throws(JinjaError) -> JinjaArguments {
        try expectSymbol("(")
        var arguments = JinjaArguments()
        while !skipSymbol(")") {
            if !arguments.positional.isEmpty || !arguments.named.isEmpty { try expectSymbol(",") }
            if skipSymbol(")") { break }
            if case .name(let name) = current, index + 1 < tokens.count, tokens[index + 1] == .symbol("=") {
                index += 2
                arguments.named.append((name, try expression()))
            } else {
                arguments.positional.append(try expression())
            }
        }
        return arguments
    }

    private mutating func primary() throws(JinjaError) -> JinjaExpression {
        guard let token = next() else { throw error("expected an expression") }
        switch token {
        case .name(let name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .string(var string):
            while case .string(let more) = current {
                string += more
                index += 1
            }
            return .literal(.string(JinjaText(string)))
        case .integer(let i): return .literal(.int(i))
        case .float(let d): return .literal(.double(d))
        case .symbol("("):
            if skipSymbol(")") { return .tuple([]) }
            let first = try expression()
            guard skipSymbol(",") else {
                try expectSymbol(")")
                return first
            }
            var items = [first]
            while !skipSymbol(")") {
                items.append(try expression())
                if !skipSymbol(",") { try expectSymbol(")"); break }
            }
            return .tuple(items)
        case .symbol("["):
            var items: [JinjaExpression] = []
            while !skipSymbol("]") {
                items.append(try expression())
                if !skipSymbol(",") { try expectSymbol("]"); break }
            }
            return .list(items)
        case .symbol("{"):
            var pairs: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !skipSymbol("}") {
                let key = try expression()
                try expectSymbol(":")
                pairs.append((key, try expression()))
                if !skipSymbol(",") { try expectSymbol("}"); break }
            }
            return .dictionary(pairs)
        default:
            throw error("unexpected \(token)")
        }
    }
}
