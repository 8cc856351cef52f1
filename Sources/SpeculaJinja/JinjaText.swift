/// A string that remembers which of its parts came from the template's data (a chat's messages)
/// rather than from the template's own text.
///
/// A chat template writes its markers (`<|im_start|>`) as literal text and the messages' contents
/// as data; the tokenizer must turn only the former into special tokens, or a user could write a
/// marker into a message and forge a system turn. Concatenation keeps the parts apart; any other
/// operation on a string (a filter, a method, a slice) yields one part that is data if any input
/// part was.
package struct JinjaText: Hashable, Sendable, CustomStringConvertible {
    /// One run of characters and where it came from.
    package struct Run: Hashable, Sendable {
        package var string: String
        package var isData: Bool
    }

    package private(set) var runs: [Run]

    package init() { runs = [] }

    package init(_ string: String, isData: Bool = false) {
        runs = string.isEmpty ? [] : [Run(string: string, isData: isData)]
    }

    /// The characters, parts joined.
    package var string: String { runs.map(\.string).joined() }
    package var description: String { string }
    package var isEmpty: Bool { runs.isEmpty }
    /// Whether any part came from the data.
    package var hasData: Bool { runs.contains(where: \.isData) }

    /// Appends `other`, merging neighbouring runs of the same origin.
    package mutating func append(_ other: JinjaText) {
        for run in other.runs {
            if let last = runs.last, last.isData == run.isData {
                runs[runs.count - 1].string += run.string
            } else {
                runs.append(run)
            }
        }
    }

    package static func + (lhs: JinjaText, rhs: JinjaText) -> JinjaText {
        var text = lhs
        text.append(rhs)
        return text
    }

    /// `transform` applied to the whole string; the result is data if any part was.
    package func mapped(_ transform: (String) -> String) -> JinjaText {
        JinjaText(transform(string), isData: hasData)
    }

    package static func == (lhs: JinjaText, rhs: JinjaText) -> Bool { lhs.string == rhs.string }
    package func hash(into hasher: inout Hasher) { hasher.combine(string) }
}
