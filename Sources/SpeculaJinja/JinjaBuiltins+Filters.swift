import Foundation

/// Filters (`value | name(…)`) and tests (`value is name …`), as jinja2 defines them; `tojson` as
/// Hugging Face overrides it (`json.dumps` with `ensure_ascii=False`, keys in insertion order).
extension JinjaBuiltins {
    static func filter(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue], _ named: JinjaDictionary) throws(JinjaError) -> JinjaValue {
        func argument(_ i: Int, _ key: String) -> JinjaValue? { i < arguments.count ? arguments[i] : named[key] }
        switch name {
        case "trim":
            guard case .string(let s) = value else { return .string(value.text.mapped { strip($0, nil, leading: true, trailing: true) }) }
            let characters: String? = if case .string(let c)? = argument(0, "chars") { c.string } else { nil }
            return .string(s.mapped { strip($0, characters, leading: true, trailing: true) })
        case "upper": return .string(value.text.mapped { $0.uppercased() })
        case "lower": return .string(value.text.mapped { $0.lowercased() })
        case "capitalize": return .string(value.text.mapped(capitalize))
        case "title": return .string(value.text.mapped(title))
        case "string": return .string(value.text)
        case "safe", "e", "escape", "forceescape": return value
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.string.count)
            case .array(let a): return .int(a.count)
            case .dictionary(let d): return .int(d.count)
            case .undefined: return .int(0)
            default: throw JinjaError(.runtime, "a \(value.typeName) has no length")
            }
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string(JinjaText())
            let boolean = argument(1, "boolean")?.isTrue ?? false
            return value.isUndefined || (boolean && !value.isTrue) ? fallback : value
        case "first": return try items(of: value).first ?? .undefined("first")
        case "last": return try items(of: value).last ?? .undefined("last")
        case "list": return .array(try items(of: value))
        case "reverse":
            if case .string(let s) = value { return .string(s.mapped { String($0.reversed()) }) }
            return .array(try items(of: value).reversed())
        case "join":
            let separator = argument(0, "d")?.text ?? JinjaText()
            var joined = JinjaText()
            for (i, item) in try items(of: value).enumerated() {
                if i > 0 { joined.append(separator) }
                joined.append(try argument(1, "attribute").map { a throws(JinjaError) in try self.item(a, of: item) }?.text ?? item.text)
            }
            return .string(joined)
        case "replace":
            guard case .string(let old)? = argument(0, "old"), case .string(let new)? = argument(1, "new") else {
                throw JinjaError(.runtime, "replace needs two strings")
            }
            return .string(value.text.mapped { replace($0, old.string, new.string, count: argument(2, "count")?.integer ?? -1) })
        case "int":
            switch value {
            case .int, .bool: return .int(value.integer!)
            case .double(let d) where d.isFinite: return .int(Int(d))
            case .string(let s): return .int(Int(s.string.trimmingCharacters(in: .whitespaces)) ?? Double(s.string).flatMap { $0.isFinite ? Int($0) : nil } ?? argument(0, "default")?.integer ?? 0)
            default: return argument(0, "default") ?? .int(0)
            }
        case "float":
            if let number = value.number { return .double(number) }
            if case .string(let s) = value, let d = Double(s.string.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return argument(0, "default") ?? .double(0)
        case "abs":
            if case .int(let i) = value { return .int(abs(i)) }
            guard let number = value.number else { throw JinjaError(.runtime, "abs of a \(value.typeName)") }
            return .double(abs(number))
        case "round":
            guard let number = value.number else { throw JinjaError(.runtime, "round of a \(value.typeName)") }
            let scale = pow(10, Double(argument(0, "precision")?.integer ?? 0))
            let method = argument(1, "method")?.pythonString ?? "common"
            let rule: FloatingPointRoundingRule = method == "floor" ? .down : method == "ceil" ? .up : .toNearestOrAwayFromZero
            return .double((number * scale).rounded(rule) / scale)
        case "items":
            guard case .dictionary(let d) = value else { throw JinjaError(.runtime, "items of a \(value.typeName)") }
            return .array(d.entries.map { .array([.string(JinjaText($0.key)), $0.value]) })
        case "dictsort":
            guard case .dictionary(let d) = value else { throw JinjaError(.runtime, "dictsort of a \(value.typeName)") }
            return .array(d.entries.sorted { $0.key.lowercased() < $1.key.lowercased() }.map { .array([.string(JinjaText($0.key)), $0.value]) })
        case "sort":
            let attribute = argument(2, "attribute")
            let keyed = try items(of: value).map { item throws(JinjaError) in (try attribute.map { a throws(JinjaError) in try self.item(a, of: item) } ?? item, item) }
            var sorted = keyed.sorted { $0.0.less(than: $1.0) ?? false }
            if argument(0, "reverse")?.isTrue ?? false { sorted.reverse() }
            return .array(sorted.map(\.1))
        case "unique":
            var seen: [JinjaValue] = []
            for item in try items(of: value) where !seen.contains(where: { $0.equals(item) }) { seen.append(item) }
            return .array(seen)
        case "min", "max":
            let all = try items(of: value)
            return all.dropFirst().reduce(all.first ?? .undefined(name)) { best, item in
                (name == "min" ? item.less(than: best) : best.less(than: item)) == true ? item : best
            }
        case "sum":
            var total = argument(1, "start") ?? .int(0)
            for item in try items(of: value) {
                total = try binary("+", total, try argument(0, "attribute").map { a throws(JinjaError) in try self.item(a, of: item) } ?? item)
            }
            return total
        case "map":
            let all = try items(of: value)
            if let attribute = named["attribute"] {
                return .array(try all.map { item throws(JinjaError) in
                    let found = try self.item(attribute, of: item)
                    return found.isUndefined ? (named["default"] ?? found) : found
                })
            }
            guard case .string(let filterName)? = arguments.first else { throw JinjaError(.runtime, "map needs a filter name or attribute=") }
            return .array(try all.map { item throws(JinjaError) in try filter(filterName.string, item, Array(arguments.dropFirst()), JinjaDictionary()) })
        case "select", "reject":
            var kept: [JinjaValue] = []
            for item in try items(of: value) {
                let passes = try arguments.first.map { t throws(JinjaError) in try test(t.pythonString, item, Array(arguments.dropFirst())) } ?? item.isTrue
                if passes == (name == "select") { kept.append(item) }
            }
            return .array(kept)
        case "selectattr", "rejectattr":
            guard let attribute = arguments.first else { throw JinjaError(.runtime, "\(name) needs an attribute") }
            var kept: [JinjaValue] = []
            for item in try items(of: value) {
                let field = try self.item(attribute, of: item)
                let passes = arguments.count > 1 ? try test(arguments[1].pythonString, field, Array(arguments.dropFirst(2))) : field.isTrue
                if passes == (name == "selectattr") { kept.append(item) }
            }
            return .array(kept)
        case "indent":
            let width = argument(0, "width") ?? .int(4)
            let indentation: String = if case .string(let w) = width { w.string } else { String(repeating: " ", count: width.integer ?? 4) }
            let first = argument(1, "first")?.isTrue ?? false
            let blank = argument(2, "blank")?.isTrue ?? false
            return .string(value.text.mapped { indent($0, indentation, first: first, blank: blank) })
        case "wordcount":
            return .int(value.pythonString.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" }).count)
        case "tojson":
            var json = ""
            try JinjaJSON.write(value, into: &json, indent: argument(0, "indent")?.integer, depth: 0)
            return .string(JinjaText(json, isData: containsData(value)))
        default:
            throw JinjaError(.runtime, "unknown filter '\(name)'")
        }
    }

    private static func containsData(_ value: JinjaValue) -> Bool {
        switch value {
        case .string(let s): s.hasData
        case .array(let items): items.contains(where: containsData)
        case .dictionary(let d): d.entries.contains { containsData($0.value) }
        default: false
        }
    }

    /// jinja2's `indent`: every line but the first (unless `first`), blank lines only if `blank`.
    private static func indent(_ s: String, _ indentation: String, first: Bool, blank: Bool) -> String {
        var lines = (s + "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + indentation)
        } else {
            out = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty { out += "\n" + lines.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n") }
        }
        return first ? indentation + out : out
    }

    static func test(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue]) throws(JinjaError) -> Bool {
        let other = arguments.first ?? .none
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number": switch value { case .int, .double, .bool: return true; default: return false }
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dictionary = value { return true } else { return false }
        case "sequence", "iterable":
            switch value { case .array, .string, .dictionary: return true; default: return false }
        case "callable": if case .callable = value { return true } else { return false }
        case "even", "odd":
            guard let i = value.integer else { throw JinjaError(.runtime, "\(name) of a \(value.typeName)") }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            guard let i = value.integer, let d = other.integer, d != 0 else { throw JinjaError(.runtime, "divisibleby needs integers") }
            return i % d == 0
        case "lower": return value.pythonString == value.pythonString.lowercased()
        case "upper": return value.pythonString == value.pythonString.uppercased()
        case "eq", "equalto", "==", "sameas": return value.equals(other)
        case "ne", "!=": return !value.equals(other)
        case "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
            let op = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="][name] ?? name
            return try binary(op, value, other).isTrue
        case "in": return try binary("in", value, other).isTrue
        default: throw JinjaError(.runtime, "unknown test '\(name)'")
        }
    }
}

/// `json.dumps` as Python writes it: `", "` and `": "` between items (`","` with an indent), strings
/// with `\"`, `\\`, `\n`-style and `\u00XX` escapes and other characters as they are.
enum JinjaJSON {
    static func write(_ value: JinjaValue, into out: inout String, indent: Int?, depth: Int) throws(JinjaError) {
        func newline(_ level: Int) {
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        }
        switch value {
        case .undefined(let name): throw JinjaError(.runtime, "'\(name)' is undefined and cannot be written as JSON")
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isNaN ? "NaN" : d.isInfinite ? (d > 0 ? "Infinity" : "-Infinity") : JinjaValue.pythonFloat(d)
        case .string(let s): quote(s.string, into: &out)
        case .array(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                newline(depth + 1)
                try write(item, into: &out, indent: indent, depth: depth + 1)
            }
            newline(depth)
            out += "]"
        case .dictionary(let d):
            try writeObject(d, into: &out, indent: indent, depth: depth)
        case .namespace(let n):
            try writeObject(n.attributes, into: &out, indent: indent, depth: depth)
        case .callable(let c): throw JinjaError(.runtime, "function \(c.name) cannot be written as JSON")
        }
    }

    private static func writeObject(_ d: JinjaDictionary, into out: inout String, indent: Int?, depth: Int) throws(JinjaError) {
        guard !d.isEmpty else { out += "{}"; return }
        out += "{"
        for (i, entry) in d.entries.enumerated() {
            if i > 0 { out += indent == nil ? ", " : "," }
            if let indent { out += "\n" + String(repeating: " ", count: indent * (depth + 1)) }
            quote(entry.key, into: &out)
            out += ": "
            try write(entry.value, into: &out, indent: indent, depth: depth + 1)
        }
        if let indent { out += "\n" + String(repeating: " ", count: indent * depth) }
        out += "}"
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        out += "\""
    }
}
