/// Streams a request's text with OpenAI's stop semantics: a stop string ends the output and is
/// never part of it, nor is anything after it — also when it spans tokens or passes. Text that
/// may be the beginning of a stop string is held back until the next text decides.
///
/// Works on UTF-8 bytes: a match of a valid stop string in valid text starts and ends on
/// character boundaries, so what is released always decodes whole.
struct StopStringFilter {
    private let stops: [[UInt8]]
    private let longest: Int
    private var text: [UInt8] = []
    private var released = 0

    init(_ stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
        longest = self.stops.map(\.count).max() ?? 0
    }

    /// Adds decoded text; returns what may be streamed now and whether a stop string was found
    /// (the request then ends, its text cut before the stop). `final`: no more text follows, so
    /// nothing is held back.
    mutating func append(_ decoded: String, final: Bool) -> (text: String, stopped: Bool) {
        text += decoded.utf8
        let searchFrom = max(0, released - longest + 1)
        var cut: Int?
        for stop in stops {
            if let at = Self.firstIndex(of: stop, in: text, from: searchFrom) { cut = min(cut ?? .max, at) }
        }
        var end = cut ?? text.count
        if cut == nil && !final { end -= heldBack() }
        end = max(end, released)
        let out = String(decoding: text[released..<end], as: UTF8.self)
        released = end
        return (out, cut != nil)
    }

    /// The longest tail of the unreleased text that begins some stop string.
    private func heldBack() -> Int {
        let pending = text.count - released
        var held = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending), to: held, by: -1)
            where text[(text.count - length)...].elementsEqual(stop[..<length]) {
                held = length
                break
            }
        }
        return held
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
