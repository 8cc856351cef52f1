/// Runs a randomised program down every branch of its `RandomChoices`, with each branch's
/// probability: the law of its result, computed exactly rather than sampled.
///
/// The program is replayed from the start for every branch (depth-first over a script of choice
/// indices), so it must be deterministic given its choices. Zero-probability branches are skipped.
/// Cost: one run per leaf of the choice tree; meant for toy vocabularies of 3–4 tokens.
package enum ChoiceEnumerator {
    /// Calls `visit(result, probability)` once per leaf of the program's choice tree.
    package static func enumerate<Result>(
        _ program: (inout ScriptedChoices) -> Result,
        visit: (Result, Double) -> Void
    ) {
        var script: [Int] = []
        while true {
            var choices = ScriptedChoices(script: script)
            let result = program(&choices)
            visit(result, choices.probability)
            // Advance to the next branch: the deepest choice that has an untried option.
            var trace = choices.trace
            var advanced = false
            while let last = trace.popLast() {
                if let next = last.options.indices.first(where: { $0 > last.chosen && last.options[$0] > 0 }) {
                    script = trace.map(\.chosen) + [next]
                    advanced = true
                    break
                }
            }
            if !advanced { return }
        }
    }

    /// The law of the program's (hashable) result.
    package static func law<Result: Hashable>(
        of program: (inout ScriptedChoices) -> Result
    ) -> [Result: Double] {
        var law: [Result: Double] = [:]
        enumerate(program) { result, p in law[result, default: 0] += p }
        return law
    }
}

/// `RandomChoices` that follows a script of option indices, then takes the first option with a
/// positive probability, recording every choice for `ChoiceEnumerator`.
package struct ScriptedChoices: RandomChoices {
    /// One choice point: the option taken and the probability of every option.
    package struct Choice {
        package var chosen: Int
        package var options: [Double]
    }

    private let script: [Int]
    package private(set) var trace: [Choice] = []
    /// The probability of the branch taken so far.
    package private(set) var probability = 1.0

    init(script: [Int]) { self.script = script }

    private mutating func choose(_ options: [Double]) -> Int {
        let index: Int
        if trace.count < script.count {
            index = script[trace.count]
        } else {
            index = options.firstIndex(where: { $0 > 0 }) ?? 0
        }
        trace.append(Choice(chosen: index, options: options))
        probability *= options[index]
        return index
    }

    package mutating func bernoulli(_ p: Double) -> Bool {
        let clamped = min(1, max(0, p))
        return choose([clamped, 1 - clamped]) == 0
    }

    package mutating func draw<Law: TokenLaw>(from law: Law) -> Token {
        var tokens: [Token] = []
        var probabilities: [Double] = []
        law.forEachOutcome { t, p in
            tokens.append(t)
            probabilities.append(p)
        }
        precondition(!tokens.isEmpty, "cannot draw from a law without outcomes")
        let total = probabilities.reduce(0, +)
        return tokens[choose(probabilities.map { $0 / total })]
    }
}
