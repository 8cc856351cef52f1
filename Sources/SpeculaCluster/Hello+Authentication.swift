import Crypto
import Foundation
import SpeculaModel
package import SpeculaNet

/// Peer authentication: the coordinator's `Challenge` and the peer's `Hello.auth_token` over it.
///
/// Why this shape: a MAC over a nonce the peer chose can be replayed, and one over the nonce alone
/// leaves the rest of the Hello free to edit (role, node id, fingerprints). The coordinator's fresh
/// nonce per connection makes a captured Hello worthless anywhere else, and the MAC covers every
/// field, in the order and encoding `proto/specula.proto` documents so that any runtime can
/// compute it.
package enum HelloAuthentication {
    /// A fresh challenge: 32 random bytes from the system's generator, in hex.
    package static func freshChallenge() -> Challenge {
        var random = SystemRandomNumberGenerator()
        return Challenge(nonce: (0..<4).map { _ in String(format: "%016llx", random.next() as UInt64) }.joined())
    }

    /// The bytes `hello.authToken` authenticates under `challenge`.
    static func authenticatedBytes(of hello: Hello, challenge: String) -> [UInt8] {
        let capabilities = hello.capabilities.map {
            ["\($0.maxDrafts)", "\($0.maxBlockLength)", String(format: "%016llx", $0.draftTokensPerSecond.bitPattern), "\($0.maxRequests)"]
        } ?? ["-", "-", "-", "-"]
        let fields = ["specula-hello/1", challenge, "\(hello.protocolVersion)", "\(hello.role.rawValue)", hello.nodeID,
                      hello.modelFingerprint, hello.tokenizerFingerprint, "\(hello.vocabSize)"] + capabilities
        return fields.flatMap { field -> [UInt8] in
            let bytes = Array(field.utf8)
            return withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
        }
    }

    static func code(of hello: Hello, challenge: String, secret: String) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: authenticatedBytes(of: hello, challenge: challenge), using: SymmetricKey(data: Array(secret.utf8)))
    }

    /// Whether `hello` proves knowledge of `secret` for this connection's `challenge` (a
    /// constant-time comparison).
    package static func isAuthentic(_ hello: Hello, challenge: String, secret: String) -> Bool {
        guard hello.authToken.count == 64, let token = bytes(hex: hello.authToken) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(token, authenticating: authenticatedBytes(of: hello, challenge: challenge),
                                                      using: SymmetricKey(data: Array(secret.utf8)))
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).reduce(into: [UInt8]?([])) { result, i in
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return result = nil }
            result?.append(byte)
        }
    }
}

/// Says a peer's `Hello` at the right moment: at once when it has no secret; with one, in answer
/// to the coordinator's `Challenge`, authenticated over it. Shared by workers and clients.
package struct HelloSender: Sendable {
    package let hello: Hello
    package let secret: String?

    package init(_ hello: Hello, secret: String?) {
        self.hello = hello
        self.secret = secret
    }

    /// The connection is open: without a secret, the Hello goes now.
    package func opened(_ connection: Connection) {
        if secret == nil { connection.send(.hello(hello)) }
    }

    /// The coordinator's challenge: the authenticated Hello goes now (without a secret, the
    /// coordinator will refuse the Hello already sent).
    package func answer(_ challenge: Challenge, on connection: Connection) {
        guard let secret else { return }
        var hello = hello
        hello.authToken = HelloAuthentication.code(of: hello, challenge: challenge.nonce, secret: secret).hex
        connection.send(.hello(hello))
    }
}
