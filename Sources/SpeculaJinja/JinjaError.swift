/// Why a template could not be parsed or rendered, with the template line where known.
package struct JinjaError: Error, Equatable, CustomStringConvertible {
    package enum Kind: Equatable, Sendable {
        /// The template is not valid (in the subset this interpreter covers).
        case syntax
        /// Rendering failed: a type error, an unknown filter, an undefined value used as a value.
        case runtime
        /// The template called `raise_exception(message)`: the message is for the user.
        case raised
    }

    package let kind: Kind
    package let message: String
    package let line: Int?

    package init(_ kind: Kind, _ message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    package var description: String {
        if let line { return "template line \(line): \(message)" }
        return message
    }
}
