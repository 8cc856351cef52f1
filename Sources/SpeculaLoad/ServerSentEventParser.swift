/// Splits a `text/event-stream` body into its events' data, however the bytes are cut into
/// chunks on the way (an event may span reads, a read may hold several events). Follows the
/// HTML standard's rules: lines end in LF, CRLF or CR; `data:` lines (one optional space after
/// the colon) join with LF; a blank line ends an event; comments and other fields are skipped.
package struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var data: [String] = []
    private var hasData = false
    /// The last byte fed was a CR, so an LF right after it ends no second line.
    private var afterCarriageReturn = false

    package init() {}

    /// Feeds the next bytes of the body; returns the data of each event they completed.
    package mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var events: [String] = []
        for byte in bytes {
            defer { afterCarriageReturn = byte == UInt8(ascii: "\r") }
            switch byte {
            case UInt8(ascii: "\n") where afterCarriageReturn:
                continue
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// Ends the current line; returns an event's data if the line was blank and ended one.
    private mutating func endLine() -> String? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            defer { (data, hasData) = ([], false) }
            return hasData ? data.joined(separator: "\n") : nil
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var value = colon < line.endIndex ? line.index(after: colon) : colon
        if value < line.endIndex, line[value] == UInt8(ascii: " ") { value = line.index(after: value) }
        data.append(String(decoding: line[value...], as: UTF8.self))
        hasData = true
        return nil
    }
}
