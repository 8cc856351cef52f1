import SpeculaCore
package import SpeculaNet

extension Hello {
    /// Fills the auth fields for a coordinator with `secret`: a fresh random nonce and its
    /// HMAC-SHA256 under the secret. No-op without a secret.
    package mutating func authenticate(secret: String?) {
        guard let secret else { return }
        var random = SystemRandomNumberGenerator()
        authNonce = (0..<4).map { _ in String(random.next() as UInt64, radix: 16) }.joined()
        while authNonce.count < 16 { authNonce += "0" }
        authToken = HMACSHA256.hex(key: Array(secret.utf8), message: Array(authNonce.utf8))
    }
}
