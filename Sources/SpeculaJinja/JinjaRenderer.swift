/// Walks a template's nodes with a stack of scopes and writes the output.
///
/// Scopes follow jinja2: a loop's body and a macro's body are scopes of their own (a `set` inside
/// them does not outlive them; `namespace()` objects are how templates carry values out), while
/// `if` is not.
struct JinjaRenderer {
    private var scopes: [JinjaDictionary]
    private var output = JinjaText()

    init(globals: JinjaDictionary, variables: JinjaDictionary) {
        scopes = [globals, variables]
    }

    private enum Flow { case normal, breakLoop, continueLoop }

    mutating func render(_ nodes: [JinjaNode]) throws(JinjaError) -> JinjaText {
        _ = try run(nodes)
        return output
    }

    private mutating func run(_ nodes: [JinjaNode]) throws(JinjaError) -> Flow {
        for node in nodes {
            let flow = try run(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private mutating func run(_ node: JinjaNode) throws(JinjaError) -> Flow {
        switch node {
        case .text(let text):
            output.append(JinjaText(text))
        case .output(let expression, let line):
            output.append(try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.evaluate(expression) }.text)
        case .if(let branches, let otherwise, let line):
            for branch in branches where try located(line, { (r: inout JinjaRenderer) throws(JinjaError) in try r.evaluate(branch.condition) }).isTrue {
                return try run(branch.body)
            }
            return try run(otherwise)
        case .for(let loop, let line):
            return try runLoop(loop, line: line)
        case .set(let target, let expression, let line):
            let value = try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.evaluate(expression) }
            try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.assign(value, to: target) }
        case .setBlock(let name, let body, _):
            let saved = output
            output = JinjaText()
            _ = try run(body)
            scopes[scopes.count - 1][name] = .string(output)
            output = saved
        case .macro(let macro):
            scopes[scopes.count - 1][macro.name] = .callable(makeCallable(macro))
        case .break:
            return .breakLoop
        case .continue:
            return .continueLoop
        }
        return .normal
    }

    /// Runs `body`, giving an error without a line the line of the tag it happened in.
    private mutating func located<T>(_ line: Int, _ body: (inout JinjaRenderer) throws(JinjaError) -> T) throws(JinjaError) -> T {
        do { return try body(&self) } catch where error.line == nil {
            throw JinjaError(error.kind, error.message, line: line)
        }
    }

    private mutating func runLoop(_ loop: JinjaForLoop, line: Int) throws(JinjaError) -> Flow {
        let iterable = try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.evaluate(loop.iterable) }
        var items = try located(line) { (_: inout JinjaRenderer) throws(JinjaError) in try JinjaBuiltins.items(of: iterable) }
        if let condition = loop.condition {
            var kept: [JinjaValue] = []
            for item in items {
                scopes.append(JinjaDictionary())
                try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.assign(item, to: .names(loop.targets)) }
                let keep = try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.evaluate(condition) }.isTrue
                scopes.removeLast()
                if keep { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty { return try run(loop.otherwise) }
        for (i, item) in items.enumerated() {
            var scope = JinjaDictionary()
            scope["loop"] = Self.loopValue(index: i, items: items)
            scopes.append(scope)
            defer { scopes.removeLast() }
            try located(line) { (r: inout JinjaRenderer) throws(JinjaError) in try r.assign(item, to: .names(loop.targets)) }
            if try run(loop.body) == .breakLoop { break }
        }
        return .normal
    }

    private static func loopValue(index i: Int, items: [JinjaValue]) -> JinjaValue {
        let n = items.count
        var loop = JinjaDictionary()
        loop["index"] = .int(i + 1)
        loop["index0"] = .int(i)
        loop["revindex"] = .int(n - i)
        loop["revindex0"] = .int(n - i - 1)
        loop["first"] = .bool(i == 0)
        loop["last"] = .bool(i == n - 1)
        loop["length"] = .int(n)
        loop["depth"] = .int(1)
        loop["depth0"] = .int(0)
        loop["previtem"] = i > 0 ? items[i - 1] : .undefined("loop.previtem")
        loop["nextitem"] = i + 1 < n ? items[i + 1] : .undefined("loop.nextitem")
        loop["cycle"] = .callable(JinjaCallable("loop.cycle") { arguments, _ throws(JinjaError) in
            guard !arguments.isEmpty else { throw JinjaError(.runtime, "loop.cycle needs at least one value") }
            return arguments[i % arguments.count]
        })
        return .dictionary(loop)
    }

    private mutating func assign(_ value: JinjaValue, to target: JinjaAssignment) throws(JinjaError) {
        switch target {
        case .names(let names) where names.count == 1:
            scopes[scopes.count - 1][names[0]] = value
        case .names(let names):
            let parts = try JinjaBuiltins.items(of: value)
            guard parts.count == names.count else {
                throw JinjaError(.runtime, "cannot unpack \(parts.count) values into \(names.count) names")
            }
            for (name, part) in zip(names, parts) { scopes[scopes.count - 1][name] = part }
        case .attribute(let object, let attribute):
            guard case .namespace(let namespace) = lookUp(object) else {
                throw JinjaError(.runtime, "cannot set an attribute of '\(object)', which is not a namespace")
            }
            namespace.attributes[attribute] = value
        }
    }

    private func lookUp(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return .undefined(name)
    }

    private func makeCallable(_ macro: JinjaMacro) -> JinjaCallable {
        let definitionScopes = scopes
        return JinjaCallable(macro.name) { positional, named throws(JinjaError) in
            var renderer = JinjaRenderer(globals: JinjaDictionary(), variables: JinjaDictionary())
            renderer.scopes = definitionScopes
            var scope = JinjaDictionary()
            for (i, parameter) in macro.parameters.enumerated() {
                if i < positional.count {
                    scope[parameter.name] = positional[i]
                } else if let value = named[parameter.name] {
                    scope[parameter.name] = value
                } else if let defaultValue = parameter.defaultValue {
                    scope[parameter.name] = try renderer.evaluate(defaultValue)
                } else {
                    scope[parameter.name] = .undefined(parameter.name)
                }
            }
            renderer.scopes.append(scope)
            return .string(try renderer.render(macro.body))
        }
    }

    // MARK: Expressions

    mutating func evaluate(_ expression: JinjaExpression) throws(JinjaError) -> JinjaValue {
        switch expression {
        case .literal(let value):
            return value
        case .name(let name):
            return lookUp(name)
        case .list(let items), .tuple(let items):
            var values: [JinjaValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .array(values)
        case .dictionary(let pairs):
            var dictionary = JinjaDictionary()
            for pair in pairs {
                let key = try evaluate(pair.key)
                guard case .string(let text) = key else { throw JinjaError(.runtime, "dictionary keys must be strings") }
                dictionary[text.string] = try evaluate(pair.value)
            }
            return .dictionary(dictionary)
        case .attribute(let base, let name):
            return try JinjaBuiltins.attribute(name, of: try evaluate(base))
        case .item(let base, let key):
            return try JinjaBuiltins.item(try evaluate(key), of: try evaluate(base))
        case .slice(let base, let start, let stop, let step):
            return try JinjaBuiltins.slice(try evaluate(base), start: try start.map { e throws(JinjaError) in try evaluate(e) },
                                           stop: try stop.map { e throws(JinjaError) in try evaluate(e) },
                                           step: try step.map { e throws(JinjaError) in try evaluate(e) })
        case .call(.attribute(let base, let name), let arguments):
            let object = try evaluate(base)
            let (positional, named) = try evaluate(arguments)
            if let result = try JinjaBuiltins.method(name, of: object, positional, named) { return result }
            return try call(try JinjaBuiltins.attribute(name, of: object), positional, named)
        case .call(let callee, let arguments):
            let function = try evaluate(callee)
            let (positional, named) = try evaluate(arguments)
            return try call(function, positional, named)
        case .filter(let base, let name, let arguments):
            let value = try evaluate(base)
            let (positional, named) = try evaluate(arguments)
            return try JinjaBuiltins.filter(name, value, positional, named)
        case .test(let base, let name, let arguments, let negated):
            let value = try evaluate(base)
            let (positional, _) = try evaluate(arguments)
            return .bool(try JinjaBuiltins.test(name, value, positional) != negated)
        case .unary("not", let operand):
            return .bool(!(try evaluate(operand)).isTrue)
        case .unary(_, let operand):
            return try JinjaBuiltins.negate(try evaluate(operand))
        case .binary(let op, let left, let right):
            return try JinjaBuiltins.binary(op, try evaluate(left), try evaluate(right))
        case .and(let left, let right):
            let value = try evaluate(left)
            return value.isTrue ? try evaluate(right) : value
        case .or(let left, let right):
            let value = try evaluate(left)
            return value.isTrue ? value : try evaluate(right)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTrue { return try evaluate(then) }
            return try otherwise.map { e throws(JinjaError) in try evaluate(e) } ?? .undefined("conditional")
        }
    }

    private mutating func evaluate(_ arguments: JinjaArguments) throws(JinjaError) -> ([JinjaValue], JinjaDictionary) {
        var positional: [JinjaValue] = []
        for argument in arguments.positional { positional.append(try evaluate(argument)) }
        var named = JinjaDictionary()
        for argument in arguments.named { named[argument.name] = try evaluate(argument.value) }
        return (positional, named)
    }

    private func call(_ function: JinjaValue, _ positional: [JinjaValue], _ named: JinjaDictionary) throws(JinjaError) -> JinjaValue {
        guard case .callable(let callable) = function else {
            throw JinjaError(.runtime, "\(Self.describe(function)) is not callable")
        }
        return try callable.body(positional, named)
    }

    static func describe(_ value: JinjaValue) -> String {
        if case .undefined(let name) = value { return "'\(name)' is undefined and" }
        return "a \(value.typeName)"
    }
}
