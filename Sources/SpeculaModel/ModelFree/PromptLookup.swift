package import SpeculaCore

/// Prompt lookup (llama.cpp's `--spec-type ngram-*`, vLLM's `method: ngram`): the longest n-gram
/// ending the context that occurred earlier in it, and the token that followed its most recent
/// earlier occurrence. Drafts that copy from the input — code being edited, text being rewritten,
/// a quoted document — cost nothing to propose and are accepted in long runs.
///
/// A pure function of the context: workers with the same parameters propose the same drafts, so
/// they are one pool (one law) and can audit each other.
package struct PromptLookup: TokenProposer, Hashable {
    /// The longest n-gram matched (tried first), and the shortest.
    package let longest: Int
    package let shortest: Int

    package init(longest: Int = 3, shortest: Int = 1) {
        precondition(1 <= shortest && shortest <= longest, "n-gram lengths must satisfy 1 ≤ shortest ≤ longest")
        self.longest = longest
        self.shortest = shortest
    }

    package func propose(after context: [Token]) -> Token? {
        for n in stride(from: min(longest, context.count - 1), through: shortest, by: -1) {
            let tail = context.suffix(n)
            // The most recent earlier occurrence: start at most count − n − 1, so a token follows it.
            for start in stride(from: context.count - n - 1, through: 0, by: -1) where context[start..<start + n].elementsEqual(tail) {
                return context[start + n]
            }
        }
        return nil
    }
}
