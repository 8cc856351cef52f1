import ArgumentParser

/// A "HOST:PORT" flag value ("[::1]:7070" for IPv6).
struct HostPort {
    var host: String
    var port: Int

    init(_ text: String, flag: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("\(flag) must be HOST:PORT with a port in 1...65535, got '\(text)'.")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ValidationError("\(flag) is missing the host in '\(text)'.") }
        self.host = host
        self.port = port
    }
}
