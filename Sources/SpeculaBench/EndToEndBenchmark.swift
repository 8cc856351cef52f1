import Foundation
package import SpeculaCluster
import SpeculaCore
import SpeculaModel
package import SpeculaNet

/// `specula bench e2e`: the verifiers side by side on real models, in one process and one run —
/// target alone, token-level and block verification (K = 1), K-SEQ and the default multi-draft
/// block verifier (K = 2, 4), each at γ = 4 and 8 — reporting tokens/s, speedup over the target
/// alone, tokens per target pass, time in drafting vs. target passes, and the projected speedup on
/// a GPU-like target whose pass costs the same for 1 to 64 tokens (= tokens per pass, drafting
/// being off the target's path in the cluster).
package enum EndToEndBenchmark {
    package struct Configuration: Codable, Sendable {
        package var verifier: String
        package var drafts: Int
        package var blockLength: Int
        /// The coordinator chose K and γ each round (cluster rows only; `drafts` and
        /// `blockLength` are then the largest it may choose).
        package var adaptive = false

        /// The adaptive row: the default verifier with K and γ left to the coordinator.
        package static let adaptive = Configuration(verifier: "multidraft-block", drafts: 4, blockLength: 8, adaptive: true)
    }

    package struct Row: Codable, Sendable {
        /// `local` (target and drafts in this process, one after the other) or `cluster`.
        package var mode: String
        package var configuration: Configuration
        package var temperature: Double
        package var tokens: Int
        package var seconds: Double
        package var tokensPerSecond: Double
        package var speedup: Double
        /// Tokens per verification pass (through the cluster, the tokens the target decoded
        /// alone while drafts were made, and their passes, are left out: they fill time the
        /// target would otherwise idle, which a GPU-like projection assumes away).
        package var tokensPerPass: Double
        package var draftSeconds: Double
        package var targetSeconds: Double
        /// Time the target waited for drafts: the whole drafting time locally, the rounds' wait
        /// for drafts from the workers in the cluster.
        package var draftWaitSeconds: Double
        package var projectedGPUSpeedup: Double
        package var acceptanceByPosition: [Double]
        /// Mean K and γ the coordinator chose (adaptive rows).
        package var chosenDrafts: Double?
        package var chosenBlockLength: Double?
        /// Tokens the cluster's target decoded alone while drafts were being made (cluster rows).
        package var decodedWhileDrafting: Int?
    }

    package struct Report: Codable, Sendable {
        package var target: String
        package var draft: String
        package var maxTokens: Int
        package var prompts: [String]
        package var rows: [Row]
        package var host: String
        /// The kinds of drafter prompt by prompt (`--drafter-kinds`).
        package var drafterKinds: [DrafterKindsBenchmark.Row]?
    }

    /// A chat request for `prompt` at `temperature`, seeded by the prompt's place in its list.
    package static func chatRequest(_ prompt: String, maxTokens: Int, temperature: Double, seed: Int) -> GenerateRequest {
        var request = GenerateRequest()
        request.prompt = prompt
        request.chat = true
        request.maxTokens = UInt32(maxTokens)
        request.sampling = WireSampling(temperature: temperature)
        request.seed = UInt64(seed)
        return request
    }

    package static let prompts = [
        "Write a Python function that returns the nth Fibonacci number recursively.",
        "Explain in a short paragraph why the sky is blue.",
    ]

    package static func configurations(quick: Bool) -> [Configuration] {
        var list = [Configuration(verifier: "target-alone", drafts: 0, blockLength: 1)]
        for gamma in quick ? [4] : [4, 8] {
            list.append(Configuration(verifier: "token", drafts: 1, blockLength: gamma))
            list.append(Configuration(verifier: "block", drafts: 1, blockLength: gamma))
            for k in quick ? [2] : [2, 4] {
                list.append(Configuration(verifier: "kseq", drafts: k, blockLength: gamma))
                list.append(Configuration(verifier: "multidraft-block", drafts: k, blockLength: gamma))
            }
        }
        return list
    }

    /// The verifier a configuration runs at `temperature` (greedy for the multi-draft rows at 0).
    static func verifier(_ configuration: Configuration, temperature: Double) -> VerifierKind {
        configuration.drafts == 0 ? .multidraftBlock
            : temperature == 0 && configuration.verifier == "multidraft-block" ? .greedy : VerifierKind(name: configuration.verifier)!
    }

    package static func run(target: ClusterModel, draft: ClusterModel, maxTokens: Int, temperatures: [Double], quick: Bool, progress: (String) -> Void) throws -> Report {
        let generator = LocalGenerator(target: target, draft: draft)
        let promptIDs = try prompts.map { p in
            guard let tokenizer = target.tokenizer, let template = target.chatTemplate else { return [1, 2, 3] }
            return try template.get().tokens([ChatMessage(role: "user", content: p)], tokenizer: tokenizer)
        }
        var rows: [Row] = []
        for temperature in temperatures {
            var baseline = 0.0
            for configuration in configurations(quick: quick) {
                progress("\(configuration.verifier) K=\(configuration.drafts) γ=\(configuration.blockLength) τ=\(temperature)")
                let kind = verifier(configuration, temperature: temperature)
                var total = LocalGenerator.Stats()
                total.acceptedAt = Array(repeating: 0, count: configuration.blockLength)
                for (i, prompt) in promptIDs.enumerated() {
                    var settings = LocalGenerator.Settings(verifier: kind, drafts: configuration.drafts, blockLength: configuration.blockLength,
                                                           sampling: SamplingParameters(temperature: temperature), maxTokens: maxTokens)
                    settings.seed = UInt64(i)
                    let stats = try generator.generate(prompt: prompt, settings: settings).stats
                    total.generated += stats.generated
                    total.targetPasses += stats.targetPasses
                    total.draftSeconds += stats.draftSeconds
                    total.targetSeconds += stats.targetSeconds
                    total.totalSeconds += stats.totalSeconds
                    total.draftedRounds += stats.draftedRounds
                    for p in stats.acceptedAt.indices where p < total.acceptedAt.count { total.acceptedAt[p] += stats.acceptedAt[p] }
                }
                let rate = Double(total.generated) / total.totalSeconds
                if configuration.drafts == 0 { baseline = rate }
                rows.append(Row(
                    mode: "local", configuration: configuration, temperature: temperature, tokens: total.generated, seconds: total.totalSeconds,
                    tokensPerSecond: rate, speedup: baseline > 0 ? rate / baseline : 1, tokensPerPass: total.tokensPerPass,
                    draftSeconds: total.draftSeconds, targetSeconds: total.targetSeconds, draftWaitSeconds: total.draftSeconds, projectedGPUSpeedup: total.tokensPerPass,
                    acceptanceByPosition: total.acceptedAt.map { Double($0) / Double(max(total.draftedRounds, 1)) }))
            }
        }
        return Report(target: target.source, draft: draft.source, maxTokens: maxTokens, prompts: prompts, rows: rows, host: ProcessInfo.processInfo.hostName)
    }
}
