import Foundation
package import SpeculaCore
package import SpeculaModel

/// A draft worker's drafter when it has no model (`specula draft --model prompt-lookup[:…]` or
/// `--model suffix[:…]`): proposes tokens from the context (and, for suffix drafting, from the
/// requests it has seen), ships each as a point mass, needs no weights and no tokenizer, and runs
/// on anything. Its drafts are one per round (they are deterministic: more would be copies).
package struct ModelFreeDrafter: Sendable {
    /// The two kinds, with their parameters.
    package enum Kind: Sendable {
        case promptLookup(PromptLookup)
        case suffix(SuffixDrafter)
    }

    package let kind: Kind
    /// Most tokens a draft runs past the accepted context.
    package let maxLength: Int
    /// Names its draft law: one pool per fingerprint. Prompt lookup is a function of the context,
    /// so equal parameters are one law; a suffix drafter's law depends on what it learnt, so each
    /// is its own.
    package let fingerprint: String

    package var proposer: any TokenProposer {
        switch kind {
        case .promptLookup(let lookup): lookup
        case .suffix(let suffix): suffix
        }
    }

    /// What `--model` takes for the model-free kinds, for help texts.
    package static let help = """
        prompt-lookup[:n=N,min=M,max=L] drafts the token that followed the most recent earlier \
        occurrence of the context's last N…M tokens (default 3…1), up to L tokens ahead (default 8); \
        suffix[:n=N,max=L,memory=T] drafts the most frequent continuation of the context's longest \
        suffix (up to N = 6 tokens) over the context and the last T tokens (default 262144) of the \
        requests this worker has seen.
        """

    /// Parses a model-free `--model` spec; nil when `spec` names a model instead.
    package static func parse(_ spec: String) throws -> ModelFreeDrafter? {
        let (name, rest) = spec.firstIndex(of: ":").map { (String(spec[..<$0]), String(spec[spec.index(after: $0)...])) } ?? (spec, "")
        guard name == "prompt-lookup" || name == "suffix" else { return nil }
        var values: [String: Int] = [:]
        for item in rest.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let value = Int(pair[1]), value > 0 else {
                throw ClusterModelError.unsupported(spec, "expected key=positive-integer pairs after `\(name):`, got `\(item)`")
            }
            values[pair[0]] = value
        }
        let allowed: Set<String> = name == "suffix" ? ["n", "max", "memory"] : ["n", "min", "max"]
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ClusterModelError.unsupported(spec, "`\(unknown)` is not a parameter of \(name) (it takes \(allowed.sorted().joined(separator: ", ")))")
        }
        let maxLength = values["max"] ?? 8
        if name == "prompt-lookup" {
            let (longest, shortest) = (values["n"] ?? 3, values["min"] ?? 1)
            guard shortest <= longest else { throw ClusterModelError.unsupported(spec, "min=\(shortest) exceeds n=\(longest)") }
            return ModelFreeDrafter(kind: .promptLookup(PromptLookup(longest: longest, shortest: shortest)), maxLength: maxLength,
                                    fingerprint: "prompt-lookup:n=\(longest),min=\(shortest)")
        }
        let suffix = SuffixDrafter(longest: values["n"] ?? 6, memoryTokens: values["memory"] ?? 1 << 18)
        return ModelFreeDrafter(kind: .suffix(suffix), maxLength: maxLength,
                                fingerprint: "suffix:n=\(suffix.longest),memory=\(suffix.memoryTokens)@\(UUID().uuidString.lowercased())")
    }

    /// Learns a finished request's tokens (suffix drafting; prompt lookup keeps nothing).
    package func learn(_ sequence: [Token]) {
        if case .suffix(let suffix) = kind { suffix.learn(sequence) }
    }

    /// Whether its law is a function of the context alone, the same on every worker with its
    /// fingerprint (so its pool can be audited).
    package var isStateless: Bool {
        if case .promptLookup = kind { return true }
        return false
    }
}
