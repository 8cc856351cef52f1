import Foundation
import ArgumentParser
import SpeculaCore

/// Comma-separated token ids, as flags take them and sample lines print them.
enum TokenList {
    /// Parses "0,1,2" (empty string: no tokens); a bad entry names `flag`.
    static func parse(_ text: String, flag: String) throws -> [Token] {
        guard !text.isEmpty else { return [] }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let token = Int(part.trimmingCharacters(in: .whitespaces)), token >= 0 else {
                throw ValidationError("\(flag) must be comma-separated non-negative token ids; '\(part)' is not one.")
            }
            return token
        }
    }

    static func format(_ tokens: [Token]) -> String {
        tokens.map(String.init).joined(separator: ",")
    }
}
