import ArgumentParser
import Foundation

/// `--auth-secret-file`, `$SPECULA_AUTH_SECRET`, `--auth-secret`: the cluster's shared secret, for
/// every command that listens or connects.
///
/// Why three forms: a secret on the command line is readable by every local user in `ps`, so the
/// deploy files use the file (a Kubernetes Secret volume, a root-only file for systemd) or the
/// environment; `--auth-secret` stays for quick trials on one machine.
struct AuthOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A file holding the cluster's shared secret (surrounding whitespace ignored).",
                               discussion: "Or set SPECULA_AUTH_SECRET. Peers prove the secret with an HMAC over the coordinator's challenge."))
    var authSecretFile: String?
    @Option(help: "The shared secret itself (visible in `ps`: prefer --auth-secret-file or SPECULA_AUTH_SECRET).")
    var authSecret: String?

    func validate() throws {
        guard [authSecretFile != nil, authSecret != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("Give --auth-secret-file or --auth-secret, not both.")
        }
        _ = try secret()
    }

    /// The secret from the file, the flag or the environment, in that order; nil when none.
    func secret() throws -> String? {
        if let authSecretFile {
            guard let text = try? String(contentsOfFile: authSecretFile, encoding: .utf8) else {
                throw ValidationError("Cannot read --auth-secret-file \(authSecretFile).")
            }
            return try Self.checked(text.trimmingCharacters(in: .whitespacesAndNewlines), from: "--auth-secret-file \(authSecretFile)")
        }
        if let authSecret { return try Self.checked(authSecret, from: "--auth-secret") }
        if let text = ProcessInfo.processInfo.environment["SPECULA_AUTH_SECRET"] { return try Self.checked(text, from: "SPECULA_AUTH_SECRET") }
        return nil
    }

    private static func checked(_ secret: String, from source: String) throws -> String {
        guard !secret.isEmpty else { throw ValidationError("The shared secret from \(source) is empty.") }
        return secret
    }

    /// Whether `host` is a loopback address (reachable from this machine only).
    static func isLoopback(_ host: String) -> Bool {
        host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }

    /// Refuses to listen on a non-loopback `host` without a secret, unless `insecure`.
    static func checkListening(on host: String, flag: String, secret: String?, insecure: Bool) throws {
        guard isLoopback(host) || secret != nil || insecure else {
            throw ValidationError("\(flag) \(host) exposes this port beyond this machine: give a shared secret "
                                  + "(--auth-secret-file or SPECULA_AUTH_SECRET), or pass --insecure.")
        }
    }
}
