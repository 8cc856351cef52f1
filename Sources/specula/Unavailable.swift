import ArgumentParser

/// The error of a subcommand whose machinery is not in this build yet: it names what is missing
/// and exits non-zero, rather than pretending to work.
struct Unavailable: Error, CustomStringConvertible {
    let command: String
    let missing: String

    var description: String { "specula \(command): \(missing) is not part of this build yet." }
}
