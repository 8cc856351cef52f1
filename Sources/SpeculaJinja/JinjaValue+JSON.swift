/// JSON read into template values, keys kept in document order (`tojson` of a tool definition
/// must print its keys as they came).
extension JinjaValue {
    /// The value of a JSON document; its strings are data (`JinjaText`) when `isData`.
    package init(json: String, isData: Bool) throws(JinjaError) {
        var reader = JSONReader(Array(json.utf8), isData: isData)
        self = try reader.value()
        reader.skipSpace()
        guard reader.atEnd else { throw reader.error("unexpected text after the JSON value") }
    }
}

/// A small recursive-descent JSON reader (RFC 8259), depth-limited.
private struct JSONReader {
    private let bytes: [UInt8]
    private var position = 0
    private let isData: Bool
    private var depth = 0

    init(_ bytes: [UInt8], isData: Bool) {
        self.bytes = bytes
        self.isData = isData
    }

    var atEnd: Bool { position == bytes.count }

    func error(_ message: String) -> JinjaError { JinjaError(.runtime, "JSON at byte \(position): \(message)") }

    mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[position]) { position += 1 }
    }

    mutating func value() throws(JinjaError) -> JinjaValue {
        skipSpace()
        guard position < bytes.count else { throw error("unexpected end") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            guard depth < 128 else { throw error("nested too deeply") }
            position += 1
            var dictionary = JinjaDictionary()
            skipSpace()
            if consume("}") { return .dictionary(dictionary) }
            repeat {
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a key") }
                let key = try string()
                skipSpace()
                guard consume(":") else { throw error("expected ':'") }
                dictionary[key] = try value()
                skipSpace()
            } while consume(",")
            guard consume("}") else { throw error("expected '}'") }
            return .dictionary(dictionary)
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            guard depth < 128 else { throw error("nested too deeply") }
            position += 1
            var items: [JinjaValue] = []
            skipSpace()
            if consume("]") { return .array(items) }
            repeat { items.append(try value()); skipSpace() } while consume(",")
            guard consume("]") else { throw error("expected ']'") }
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(JinjaText(try string(), isData: isData))
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .none)
        default: return try number()
        }
    }

    private mutating func consume(_ c: Unicode.Scalar) -> Bool {
        guard position < bytes.count, bytes[position] == UInt8(c.value) else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: String, _ value: JinjaValue) throws(JinjaError) -> JinjaValue {
        let w = Array(word.utf8)
        guard position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w else { throw error("unexpected character") }
        position += w.count
        return value
    }

    private mutating func number() throws(JinjaError) -> JinjaValue {
        let start = position
        var isFloat = false
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { isFloat = true }
            guard (0x30...0x39).contains(b) || [UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(b) else { break }
            position += 1
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if !isFloat, let i = Int(text) { return .int(i) }
        guard !text.isEmpty, let d = Double(text) else { throw error("invalid number '\(text)'") }
        return .double(d)
    }

    private mutating func string() throws(JinjaError) -> String {
        position += 1
        var out: [UInt8] = []
        while position < bytes.count {
            let b = bytes[position]
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw error("unterminated string") }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), consume("\\"), consume("u") {
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                default: out.append(e)
                }
            default:
                out.append(b)
            }
        }
        throw error("unterminated string")
    }

    private mutating func hex4() throws(JinjaError) -> UInt32 {
        guard position + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16) else {
            throw error("invalid \\u escape")
        }
        position += 4
        return v
    }
}
