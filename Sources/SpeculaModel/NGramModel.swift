package import Foundation
package import SpeculaCore

/// A toy n-gram table: exact, hand-checkable distributions for tests and for anyone checking our
/// claims about the verifiers.
///
/// JSON: `{"kind": "ngram", "vocab_size": V, "order": n, "table": {"": [V probs], "2": [...],
/// "2,1": [...]}, "eos": 2}`. p(x | context) is the row of the longest suffix of the context (up
/// to n − 1 tokens, ids joined by ",") present in the table, down to `""`, which must exist.
/// `eos` (optional) is the end-of-sequence token: a sequence ends when it is drawn, as with a
/// real model.
package struct NGramModel: ExactModel, Sendable {
    package let vocabularySize: Int
    package let order: Int
    package let endOfSequence: Token?
    private let rows: [[Token]: DenseDistribution]

    package var contextWindow: Int? { order - 1 }

    /// Builds a model from rows keyed by context suffix; every row must be a probability vector.
    package init(vocabularySize: Int, order: Int, table: [[Token]: [Double]], endOfSequence: Token? = nil,
                 source: String = "<memory>") throws(NGramModelError) {
        guard vocabularySize > 0 else { throw .invalid(source, "vocab_size must be positive, got \(vocabularySize)") }
        if let eos = endOfSequence, !(0..<vocabularySize).contains(eos) {
            throw .invalid(source, "eos \(eos) is outside 0..<\(vocabularySize)")
        }
        guard order >= 1 else { throw .invalid(source, "order must be at least 1, got \(order)") }
        guard table[[]] != nil else { throw .invalid(source, "the table needs the empty-context row \"\"") }
        var rows: [[Token]: DenseDistribution] = [:]
        for (context, row) in table {
            let name = context.map(String.init).joined(separator: ",")
            guard context.count < order else {
                throw .invalid(source, "row \"\(name)\" has \(context.count) context tokens; order \(order) allows at most \(order - 1)")
            }
            guard context.allSatisfy({ (0..<vocabularySize).contains($0) }) else {
                throw .invalid(source, "row \"\(name)\" names a token outside 0..<\(vocabularySize)")
            }
            guard row.count == vocabularySize else {
                throw .invalid(source, "row \"\(name)\" has \(row.count) entries, expected vocab_size \(vocabularySize)")
            }
            guard row.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
                throw .invalid(source, "row \"\(name)\" has a negative or non-finite probability")
            }
            let total = row.reduce(0, +)
            guard abs(total - 1) < 1e-6 else {
                throw .invalid(source, "row \"\(name)\" sums to \(total), not 1")
            }
            rows[context] = DenseDistribution(weights: row)
        }
        self.vocabularySize = vocabularySize
        self.order = order
        self.endOfSequence = endOfSequence
        self.rows = rows
    }

    /// Loads the JSON format above from `path`.
    package init(contentsOf path: String) throws(NGramModelError) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path, String(describing: error))
        }
        try self.init(json: data, source: path)
    }

    /// Parses the JSON format above.
    package init(json: Data, source: String) throws(NGramModelError) {
        let file: NGramFile
        do { file = try JSONDecoder().decode(NGramFile.self, from: json) } catch {
            throw .invalid(source, "not an n-gram JSON file: \(error)")
        }
        guard file.kind == "ngram" else { throw .invalid(source, "kind is \"\(file.kind)\", expected \"ngram\"") }
        var table: [[Token]: [Double]] = [:]
        for (key, row) in file.table {
            let parts = key.isEmpty ? [] : key.split(separator: ",", omittingEmptySubsequences: false)
            var context: [Token] = []
            for part in parts {
                guard let token = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalid(source, "table key \"\(key)\" is not a comma-separated list of token ids")
                }
                context.append(token)
            }
            table[context] = row
        }
        try self.init(vocabularySize: file.vocab_size, order: file.order, table: table, endOfSequence: file.eos, source: source)
    }

    package func distribution(after context: [Token]) -> DenseDistribution {
        var length = min(order - 1, context.count)
        while length > 0 {
            if let row = rows[Array(context.suffix(length))] { return row }
            length -= 1
        }
        return rows[[]]!
    }

    /// The exact law of the model's whole outputs after `prompt`: `maxTokens` tokens, or fewer
    /// ending at its end of sequence (tokens and where they end, as a client gets them).
    package func outputLaw(after prompt: [Token], maxTokens: Int, sampling: SamplingParameters) -> [[Token]: Double] {
        var law: [[Token]: Double] = [:]
        func extend(_ output: [Token], _ p: Double) {
            if output.count == maxTokens || (output.last != nil && output.last == endOfSequence) {
                law[output, default: 0] += p
                return
            }
            distribution(after: prompt + output, sampling: sampling).forEachOutcome { token, q in extend(output + [token], p * q) }
        }
        extend([], 1)
        return law
    }

    /// The model as JSON, in the format it loads.
    package func jsonData() throws -> Data {
        var table: [String: [Double]] = [:]
        for (context, row) in rows { table[context.map(String.init).joined(separator: ",")] = row.probabilities }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(NGramFile(kind: "ngram", vocab_size: vocabularySize, order: order, table: table, eos: endOfSequence))
    }
}

/// The on-disk shape of an n-gram model.
private struct NGramFile: Codable {
    var kind: String
    var vocab_size: Int
    var order: Int
    var table: [String: [Double]]
    var eos: Int?
}

/// Why an n-gram model could not be loaded; each case names the file.
package enum NGramModelError: Error, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(String, String)
    /// The file was read but is not a valid model.
    case invalid(String, String)

    package var description: String {
        switch self {
        case .unreadable(let path, let why): "cannot read n-gram model \(path): \(why)"
        case .invalid(let path, let why): "invalid n-gram model \(path): \(why)"
        }
    }
}
