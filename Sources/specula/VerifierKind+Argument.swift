import ArgumentParser
import SpeculaCore

/// `--verifier NAME`: `--help` lists every verifier, and a wrong name is refused by the parser
/// with the list (the alias `spectr-gbv` is accepted too).
extension VerifierKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public var defaultValueDescription: String { rawValue }

    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
