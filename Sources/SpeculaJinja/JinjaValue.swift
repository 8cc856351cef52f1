/// A value while a template renders, with Python's semantics (those jinja2 gives templates):
/// truthiness, equality across int and float, `str()` and `repr()` forms, insertion-ordered
/// dictionaries.
package enum JinjaValue {
    /// A name or item that does not exist (renders as nothing, is false, iterates as empty).
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(JinjaText)
    /// Lists and tuples.
    case array([JinjaValue])
    case dictionary(JinjaDictionary)
    case namespace(JinjaNamespace)
    case callable(JinjaCallable)

    /// A string value from the template's data (see `JinjaText`).
    package static func data(_ string: String) -> JinjaValue { .string(JinjaText(string, isData: true)) }

    var isTrue: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .dictionary(let d): !d.isEmpty
        case .namespace, .callable: true
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// The number, for arithmetic and comparisons (`True` is 1, as in Python).
    var number: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    var integer: Int? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): i
        default: nil
        }
    }

    /// What `{{ value }}` prints: Python's `str()`.
    var text: JinjaText {
        switch self {
        case .string(let s): s
        case .undefined: JinjaText()
        default: JinjaText(pythonString)
        }
    }

    var pythonString: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): Self.pythonFloat(d)
        case .string(let s): s.string
        case .array(let a): "[" + a.map(\.pythonRepresentation).joined(separator: ", ") + "]"
        case .dictionary(let d): "{" + d.entries.map { "\(Self.quoted($0.key)): \($0.value.pythonRepresentation)" }.joined(separator: ", ") + "}"
        case .namespace: "<Namespace>"
        case .callable(let c): "<function \(c.name)>"
        }
    }

    /// Python's `repr()`, as lists and dictionaries print their items.
    var pythonRepresentation: String {
        if case .string(let s) = self { return Self.quoted(s.string) }
        return pythonString
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    /// A string as Python's `repr` writes it: single quotes unless the string has one and no double.
    static func quoted(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(quote) }
                else if c.value < 0x20 || c.value == 0x7f { out += "\\x" + String(format: "%02x", c.value) }
                else { out.unicodeScalars.append(c) }
            }
        }
        return out + String(quote)
    }

    /// Python's `==`.
    func equals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.string == b.string
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case (.dictionary(let a), .dictionary(let b)):
            return a.count == b.count && a.entries.allSatisfy { entry in b[entry.key].map { $0.equals(entry.value) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let x = number, let y = other.number { return x == y }
            return false
        }
    }

    /// Python's `<` for numbers, strings (by code point) and lists; nil where Python raises.
    func less(than other: JinjaValue) -> Bool? {
        switch (self, other) {
        case (.string(let a), .string(let b)):
            return a.string.unicodeScalars.lexicographicallyPrecedes(b.string.unicodeScalars)
        case (.array(let a), .array(let b)):
            for (x, y) in zip(a, b) where !x.equals(y) { return x.less(than: y) }
            return a.count < b.count
        default:
            if let x = number, let y = other.number { return x < y }
            return nil
        }
    }

    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .dictionary: "dict"
        case .namespace: "Namespace"
        case .callable: "function"
        }
    }
}

/// A dictionary that keeps its keys in insertion order, as Python's does (`tojson`, `items()`).
package struct JinjaDictionary {
    package private(set) var entries: [(key: String, value: JinjaValue)] = []
    private var positions: [String: Int] = [:]

    package init() {}

    package init(_ pairs: [(String, JinjaValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    package subscript(key: String) -> JinjaValue? {
        get { positions[key].map { entries[$0].value } }
        set {
            if let position = positions[key] {
                if let newValue { entries[position].value = newValue } else { remove(at: position) }
            } else if let newValue {
                positions[key] = entries.count
                entries.append((key, newValue))
            }
        }
    }

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    var keys: [String] { entries.map(\.key) }

    private mutating func remove(at position: Int) {
        entries.remove(at: position)
        positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
    }
}

/// The object `namespace()` makes: the one value a template can change from inside a loop.
package final class JinjaNamespace {
    var attributes: JinjaDictionary

    init(_ attributes: JinjaDictionary) { self.attributes = attributes }
}

/// A function a template can call: a global (`range`, `raise_exception`), a macro, a method.
package final class JinjaCallable {
    let name: String
    let body: (_ positional: [JinjaValue], _ named: JinjaDictionary) throws(JinjaError) -> JinjaValue

    init(_ name: String, _ body: @escaping (_ positional: [JinjaValue], _ named: JinjaDictionary) throws(JinjaError) -> JinjaValue) {
        self.name = name
        self.body = body
    }
}
