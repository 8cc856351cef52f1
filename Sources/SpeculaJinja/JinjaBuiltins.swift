import Foundation

/// What templates can use besides their own text: the globals (`range`, `namespace`,
/// `raise_exception`, `strftime_now`, `dict`), the operators, attribute and item access, and the
/// methods of strings, lists and dictionaries that chat templates call. Filters and tests are in
/// `JinjaBuiltins+Filters.swift`.
enum JinjaBuiltins {
    static let globals: JinjaDictionary = {
        var globals = JinjaDictionary()
        globals["range"] = .callable(JinjaCallable("range") { arguments, _ throws(JinjaError) in
            let bounds = arguments.compactMap(\.integer)
            guard bounds.count == arguments.count, (1...3).contains(bounds.count) else {
                throw JinjaError(.runtime, "range() takes one to three integers")
            }
            let (start, stop) = bounds.count == 1 ? (0, bounds[0]) : (bounds[0], bounds[1])
            let step = bounds.count == 3 ? bounds[2] : 1
            guard step != 0 else { throw JinjaError(.runtime, "range() step must not be zero") }
            guard abs((stop - start) / step) <= 100_000 else { throw JinjaError(.runtime, "range() too long") }
            return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
        })
        globals["namespace"] = .callable(JinjaCallable("namespace") { arguments, named throws(JinjaError) in
            var attributes = JinjaDictionary()
            for argument in arguments {
                guard case .dictionary(let d) = argument else { throw JinjaError(.runtime, "namespace() takes a dict or names") }
                for entry in d.entries { attributes[entry.key] = entry.value }
            }
            for entry in named.entries { attributes[entry.key] = entry.value }
            return .namespace(JinjaNamespace(attributes))
        })
        globals["dict"] = .callable(JinjaCallable("dict") { _, named throws(JinjaError) in .dictionary(named) })
        globals["raise_exception"] = .callable(JinjaCallable("raise_exception") { arguments, _ throws(JinjaError) in
            throw JinjaError(.raised, arguments.first?.pythonString ?? "the chat template raised an exception")
        })
        globals["strftime_now"] = .callable(JinjaCallable("strftime_now") { arguments, _ throws(JinjaError) in
            guard case .string(let format) = arguments.first else { throw JinjaError(.runtime, "strftime_now() takes a format") }
            var now = time(nil)
            var parts = tm()
            localtime_r(&now, &parts)
            var buffer = [CChar](repeating: 0, count: 256)
            let count = strftime(&buffer, buffer.count, format.string, &parts)
            return .string(JinjaText(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        })
        return globals
    }()

    /// The values `for` iterates: a list's items, a dictionary's keys, a string's characters.
    static func items(of value: JinjaValue) throws(JinjaError) -> [JinjaValue] {
        switch value {
        case .array(let items): return items
        case .dictionary(let d): return d.keys.map { .string(JinjaText($0)) }
        case .string(let s): return s.string.map { .string(JinjaText(String($0), isData: s.hasData)) }
        case .undefined: return []
        default: throw JinjaError(.runtime, "a \(value.typeName) is not iterable")
        }
    }

    /// `value.name`: an attribute (a namespace's), or a dictionary's item.
    static func attribute(_ name: String, of value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch value {
        case .undefined(let base): throw JinjaError(.runtime, "'\(base)' is undefined (reading .\(name))")
        case .dictionary(let d): return d[name] ?? .undefined(name)
        case .namespace(let n): return n.attributes[name] ?? .undefined(name)
        default: return .undefined(name)
        }
    }

    /// `value[key]`: an item by index (negative from the end) or key; what does not exist is undefined.
    static func item(_ key: JinjaValue, of value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch (value, key) {
        case (.undefined(let base), _):
            throw JinjaError(.runtime, "'\(base)' is undefined (reading [\(key.pythonRepresentation)])")
        case (.array(let items), _):
            guard let i = key.integer else { return .undefined("item") }
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined("item \(i)")
        case (.string(let s), _):
            guard let i = key.integer else { return .undefined("item") }
            let characters = Array(s.string)
            let index = i < 0 ? characters.count + i : i
            return characters.indices.contains(index) ? .string(JinjaText(String(characters[index]), isData: s.hasData)) : .undefined("item \(i)")
        case (_, .string(let name)):
            return try attribute(name.string, of: value)
        default:
            return .undefined("item")
        }
    }

    /// `value[start:stop:step]` with Python's rules for lists and strings.
    static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws(JinjaError) -> JinjaValue {
        let step = step?.integer ?? 1
        guard step != 0 else { throw JinjaError(.runtime, "slice step cannot be zero") }
        func indices(_ count: Int) -> [Int] {
            func clamp(_ bound: JinjaValue?, _ fallback: Int) -> Int {
                guard let i = bound?.integer else { return fallback }
                let index = i < 0 ? i + count : i
                return step > 0 ? min(max(index, 0), count) : min(max(index, -1), count - 1)
            }
            let from = clamp(start, step > 0 ? 0 : count - 1)
            let to = clamp(stop, step > 0 ? count : -1)
            return Array(Swift.stride(from: from, to: to, by: step))
        }
        switch value {
        case .array(let items): return .array(indices(items.count).map { items[$0] })
        case .string(let s):
            let characters = Array(s.string)
            return .string(JinjaText(String(indices(characters.count).map { characters[$0] }), isData: s.hasData))
        default: throw JinjaError(.runtime, "a \(value.typeName) cannot be sliced")
        }
    }

    static func negate(_ value: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch value {
        case .int(let i): return .int(-i)
        case .double(let d): return .double(-d)
        case .bool(let b): return .int(b ? -1 : 0)
        default: throw JinjaError(.runtime, "cannot negate a \(value.typeName)")
        }
    }

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch op {
        case "==": return .bool(a.equals(b))
        case "!=": return .bool(!a.equals(b))
        case "<", "<=", ">", ">=":
            guard let less = (op.hasPrefix("<") ? a.less(than: b) : b.less(than: a)) else {
                throw JinjaError(.runtime, "cannot compare a \(a.typeName) with a \(b.typeName)")
            }
            return .bool(less || (op.count == 2 && a.equals(b)))
        case "in": return .bool(try contains(b, a))
        case "~": return .string(a.text + b.text)
        default: return try arithmetic(op, a, b)
        }
    }

    private static func contains(_ container: JinjaValue, _ element: JinjaValue) throws(JinjaError) -> Bool {
        switch (container, element) {
        case (.string(let s), .string(let part)): return part.isEmpty || s.string.contains(part.string)
        case (.array(let items), _): return items.contains { $0.equals(element) }
        case (.dictionary(let d), .string(let key)): return d[key.string] != nil
        case (.dictionary, _), (.undefined, _): return false
        default: throw JinjaError(.runtime, "'in' needs a string, list or dict, not a \(container.typeName)")
        }
    }

    private static func arithmetic(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws(JinjaError) -> JinjaValue {
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)): return .string(x + y)
        case ("+", .array(let x), .array(let y)): return .array(x + y)
        case ("*", .string(let s), _) where b.integer != nil:
            return .string(JinjaText(String(repeating: s.string, count: max(0, b.integer!)), isData: s.hasData))
        case ("*", .array(let items), _) where b.integer != nil:
            return .array(Array(repeating: items, count: max(0, b.integer!)).flatMap { $0 })
        default: break
        }
        if let x = a.integer, let y = b.integer {
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/":
                guard y != 0 else { throw JinjaError(.runtime, "division by zero") }
                return .double(Double(x) / Double(y))
            case "//", "%":
                guard y != 0 else { throw JinjaError(.runtime, "division by zero") }
                let quotient = Int((Double(x) / Double(y)).rounded(.down))
                return .int(op == "//" ? quotient : x - quotient * y)
            case "**" where y >= 0:
                return .int((0..<y).reduce(1) { r, _ in r &* x })
            default: break
            }
        }
        guard let x = a.number, let y = b.number else {
            throw JinjaError(.runtime, "unsupported operand types for \(op): \(a.typeName) and \(b.typeName)")
        }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/", "//", "%":
            guard y != 0 else { throw JinjaError(.runtime, "division by zero") }
            if op == "/" { return .double(x / y) }
            let quotient = (x / y).rounded(.down)
            return .double(op == "//" ? quotient : x - quotient * y)
        case "**": return .double(pow(x, y))
        default: throw JinjaError(.runtime, "unknown operator \(op)")
        }
    }

    /// `value.name(…)` for the methods of strings, dictionaries and lists; nil when `value` has no
    /// such method (the attribute is then called, e.g. a macro stored in a namespace).
    static func method(_ name: String, of value: JinjaValue, _ arguments: [JinjaValue], _ named: JinjaDictionary) throws(JinjaError) -> JinjaValue? {
        switch value {
        case .string(let text): return try stringMethod(name, text, arguments)
        case .dictionary(let d):
            switch name {
            case "items": return .array(d.entries.map { .array([.string(JinjaText($0.key)), $0.value]) })
            case "keys": return .array(d.keys.map { .string(JinjaText($0)) })
            case "values": return .array(d.entries.map(\.value))
            case "get":
                guard case .string(let key) = arguments.first else { throw JinjaError(.runtime, "get() takes a key") }
                return d[key.string] ?? (arguments.count > 1 ? arguments[1] : .none)
            default: return nil
            }
        case .array(let items):
            switch name {
            case "index":
                guard let element = arguments.first, let i = items.firstIndex(where: { $0.equals(element) }) else {
                    throw JinjaError(.runtime, "index(): value not in list")
                }
                return .int(i)
            case "count": return .int(items.count { $0.equals(arguments.first ?? .none) })
            case "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse":
                throw JinjaError(.runtime, "lists are immutable in templates (\(name))")
            default: return nil
            }
        default:
            return nil
        }
    }

    private static func stringMethod(_ name: String, _ text: JinjaText, _ arguments: [JinjaValue]) throws(JinjaError) -> JinjaValue? {
        let s = text.string
        func argument(_ i: Int) -> String? {
            if i < arguments.count, case .string(let t) = arguments[i] { return t.string }
            return nil
        }
        func result(_ string: String) -> JinjaValue { .string(JinjaText(string, isData: text.hasData)) }
        switch name {
        case "strip": return result(strip(s, argument(0), leading: true, trailing: true))
        case "lstrip": return result(strip(s, argument(0), leading: true, trailing: false))
        case "rstrip": return result(strip(s, argument(0), leading: false, trailing: true))
        case "upper": return result(s.uppercased())
        case "lower": return result(s.lowercased())
        case "title": return result(title(s))
        case "capitalize": return result(capitalize(s))
        case "startswith", "endswith":
            let candidates: [String]
            if case .array(let items)? = arguments.first { candidates = items.map(\.pythonString) } else { candidates = argument(0).map { [$0] } ?? [] }
            return .bool(candidates.contains { name == "startswith" ? s.hasPrefix($0) : s.hasSuffix($0) })
        case "replace":
            guard let old = argument(0), let new = argument(1) else { throw JinjaError(.runtime, "replace() takes two strings") }
            return result(replace(s, old, new, count: arguments.count > 2 ? arguments[2].integer ?? -1 : -1))
        case "split":
            let limit = arguments.count > 1 ? arguments[1].integer ?? -1 : -1
            return .array(split(s, argument(0), limit: limit).map(result))
        case "splitlines":
            return .array(s.split(separator: "\n", omittingEmptySubsequences: false).map { result(String($0)) }.dropLast(s.hasSuffix("\n") ? 1 : 0))
        case "find":
            guard let part = argument(0) else { throw JinjaError(.runtime, "find() takes a string") }
            guard let range = s.range(of: part) else { return .int(-1) }
            return .int(s.distance(from: s.startIndex, to: range.lowerBound))
        case "count":
            guard let part = argument(0), !part.isEmpty else { throw JinjaError(.runtime, "count() takes a string") }
            return .int(s.components(separatedBy: part).count - 1)
        case "join":
            var joined = JinjaText()
            for (i, item) in (try items(of: arguments.first ?? .array([]))).enumerated() {
                if i > 0 { joined.append(text) }
                joined.append(item.text)
            }
            return .string(joined)
        case "isdigit": return .bool(!s.isEmpty && s.allSatisfy(\.isNumber))
        case "isspace": return .bool(!s.isEmpty && s.allSatisfy(\.isWhitespace))
        default: return nil
        }
    }

    static func strip(_ s: String, _ characters: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let strip: (Unicode.Scalar) -> Bool = characters.map { set in { set.unicodeScalars.contains($0) } } ?? { $0.properties.isWhitespace }
        var start = 0, end = scalars.count
        if leading { while start < end, strip(scalars[start]) { start += 1 } }
        if trailing { while end > start, strip(scalars[end - 1]) { end -= 1 } }
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars[start..<end])
        return out
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        guard count >= 0 else { return s.replacingOccurrences(of: old, with: new) }
        var out = s
        var search = out.startIndex
        for _ in 0..<count {
            guard let range = out.range(of: old, range: search..<out.endIndex) else { break }
            out.replaceSubrange(range, with: new)
            search = out.index(range.lowerBound, offsetBy: new.count)
        }
        return out
    }

    /// Python's `str.split`: on runs of whitespace without a separator, else on each separator.
    static func split(_ s: String, _ separator: String?, limit: Int) -> [String] {
        guard let separator, !separator.isEmpty else {
            var parts: [String] = []
            var rest = Substring(strip(s, nil, leading: true, trailing: false))
            while !rest.isEmpty {
                if limit >= 0 && parts.count == limit { parts.append(String(rest)); break }
                let end = rest.firstIndex(where: \.isWhitespace) ?? rest.endIndex
                parts.append(String(rest[..<end]))
                rest = rest[end...].drop(while: \.isWhitespace)
            }
            return parts
        }
        var parts: [String] = []
        var rest = Substring(s)
        while let range = rest.range(of: separator), limit < 0 || parts.count < limit {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        return parts + [String(rest)]
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }

    static func title(_ s: String) -> String {
        var out = ""
        var previousIsLetter = false
        for c in s {
            out += previousIsLetter ? c.lowercased() : c.uppercased()
            previousIsLetter = c.isLetter
        }
        return out
    }
}
