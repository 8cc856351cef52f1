import Foundation
package import SpeculaCluster
import SpeculaCore
import SpeculaNet

/// `specula bench e2e --drafter-kinds`: the kinds of drafter through a real cluster, prompt by
/// prompt — draft-model workers alone, a prompt-lookup worker alone, both in mixed rounds — beside
/// the target alone. Prompts are the e2e set and input-grounded ones (code to edit, text to
/// rewrite), where an answer copies its input and prompt lookup drafts it for free. Requests leave
/// K and γ to the coordinator and take the default verifier (`mixed-block`; greedy at τ = 0).
package enum DrafterKindsBenchmark {
    /// Prompts whose answers copy much of their input.
    package static let groundedPrompts = [
        """
        Rename the variable `total` to `sum_of_squares` in this function and give back the whole function:

        ```python
        def squares(values):
            total = 0
            for v in values:
                if v is None:
                    continue
                total += v * v
            return total
        ```
        """,
        """
        Rewrite this paragraph with "the council" in place of "the committee", changing nothing else:

        The committee approved the new budget on Monday. The mayor signed it the next day, and the committee \
        will publish the details next week. Residents can send questions to the committee by email or by post.
        """,
    ]

    /// Every prompt of the comparison, the e2e set first.
    package static var prompts: [String] { EndToEndBenchmark.prompts + groundedPrompts }

    /// One prompt at one temperature with one kind of drafter.
    package struct Row: Codable, Sendable {
        /// `target alone`, `draft model`, `prompt lookup` or `mixed`.
        package var drafters: String
        /// Index into `prompts`, and whether the prompt is input-grounded.
        package var prompt: Int
        package var grounded: Bool
        package var temperature: Double
        package var tokens: Int
        package var seconds: Double
        package var tokensPerSecond: Double
        /// Against the target alone on the same prompt and temperature, in this run.
        package var speedup: Double
        /// Tokens per verification pass (passes that decoded alone while drafts were made left out).
        package var tokensPerPass: Double
        /// Passes that verified drafts of more than one pool.
        package var mixedPasses: Int
    }

    /// Every prompt at every temperature through `client`, for the drafters named `drafters`;
    /// `baseline` holds the target alone's rows (empty when these are they).
    package static func run(client: SpeculaClient, drafters: String, maxTokens: Int, temperatures: [Double], baseline: [Row],
                            progress: (String) -> Void) async throws -> [Row] {
        var rows: [Row] = []
        for temperature in temperatures {
            for (i, prompt) in prompts.enumerated() {
                progress("\(drafters): prompt \(i) τ=\(temperature)")
                var request = EndToEndBenchmark.chatRequest(prompt, maxTokens: maxTokens, temperature: temperature, seed: i)
                request.noDraft = baseline.isEmpty
                var (tokens, decodedAlone, passes, mixed) = (0, 0, 0, 0)
                let start = ContinuousClock.now
                for try await event in client.generate(request) {
                    guard case .chunk(let chunk) = event else { continue }
                    tokens += chunk.tokens.count
                    for pass in chunk.passes {
                        guard !pass.decodedWhileDrafting else {
                            decodedAlone += 1
                            continue
                        }
                        passes += 1
                        if pass.pools.count > 1 { mixed += 1 }
                    }
                }
                let seconds = (ContinuousClock.now - start) / .seconds(1)
                let rate = Double(tokens) / seconds
                let alone = baseline.first { $0.prompt == i && $0.temperature == temperature }?.tokensPerSecond ?? rate
                rows.append(Row(drafters: drafters, prompt: i, grounded: i >= EndToEndBenchmark.prompts.count, temperature: temperature,
                                tokens: tokens, seconds: seconds, tokensPerSecond: rate, speedup: rate / alone,
                                tokensPerPass: Double(tokens - decodedAlone) / Double(max(passes, 1)), mixedPasses: mixed))
            }
        }
        return rows
    }
}
