import Foundation
package import SpeculaCore

/// The prompts and output lengths of simulated requests: a built-in mix of code and prose, or a
/// JSONL file of `{"prompt": "...", "max_tokens": N}` lines (`max_tokens` optional), cycled in
/// order; output lengths fixed or drawn uniformly from a range.
package struct PromptSource: Sendable {
    package struct Prompt: Sendable {
        package var text: String
        package var maxTokens: Int?
    }

    package let prompts: [Prompt]
    /// Output length range when a prompt does not fix it.
    package let outputTokens: ClosedRange<Int>

    /// Code and prose, short and long: what a coding assistant and a chat server see.
    package static let builtIn: [Prompt] = [
        "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
        "Write a Python function that checks whether a string is a palindrome.",
        "// Swift: a generic binary search over a sorted array\nfunc binarySearch<T: Comparable>(",
        "Explain in two sentences why the sky is blue.",
        "SELECT customers.name, COUNT(orders.id) FROM customers",
        "The history of the printing press begins",
        "#include <stdio.h>\n\nint main(void) {\n    // print the first ten squares\n",
        "Summarize the plot of Romeo and Juliet for a ten-year-old.",
        "class LRUCache:\n    def __init__(self, capacity: int):\n",
        "List three advantages of speculative decoding for large language models.",
        "fn quicksort<T: Ord>(v: &mut [T]) {",
        "Once upon a time, in a village at the edge of a forest,",
    ].map { Prompt(text: $0, maxTokens: nil) }

    package init(prompts: [Prompt] = PromptSource.builtIn, outputTokens: ClosedRange<Int>) {
        precondition(!prompts.isEmpty && outputTokens.lowerBound >= 1)
        self.prompts = prompts
        self.outputTokens = outputTokens
    }

    /// Reads a JSONL prompt file; names the line of any malformed entry.
    package init(jsonl path: String, outputTokens: ClosedRange<Int>) throws(LoadTestError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw .badInput("cannot read the prompt file \(path)") }
        var prompts: [Prompt] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
                  let text = object["prompt"] as? String
            else { throw .badInput("\(path):\(number + 1): expected {\"prompt\": \"...\", \"max_tokens\": N}") }
            let maxTokens = object["max_tokens"] as? Int
            if let maxTokens, maxTokens < 1 { throw .badInput("\(path):\(number + 1): max_tokens must be ≥ 1") }
            prompts.append(Prompt(text: text, maxTokens: maxTokens))
        }
        guard !prompts.isEmpty else { throw .badInput("the prompt file \(path) has no prompts") }
        self.init(prompts: prompts, outputTokens: outputTokens)
    }

    /// The `index`-th request's prompt and output length.
    package func request(_ index: Int, random: inout RandomStream) -> (prompt: String, maxTokens: Int) {
        let prompt = prompts[index % prompts.count]
        return (prompt.text, prompt.maxTokens ?? Int.random(in: outputTokens, using: &random))
    }
}

/// A load test that cannot run as asked.
package enum LoadTestError: Error, CustomStringConvertible {
    case badInput(String)
    case unreachable(String)

    package var description: String {
        switch self {
        case .badInput(let why): why
        case .unreachable(let why): "cannot reach the server: \(why)"
        }
    }
}
