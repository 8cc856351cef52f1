import Foundation
package import SpeculaCluster
import SpeculaCore
import SpeculaNet

/// The `specula bench e2e` grid through a running cluster (coordinator and workers in their own
/// processes, pinned to their own cores by the caller): the same prompts, configurations and
/// seeds as the local rows, measured from the client, with the coordinator's per-round stats
/// (time waiting for drafts, target pass time).
package enum ClusterEndToEndBenchmark {
    package static func run(client: SpeculaClient, maxTokens: Int, temperatures: [Double], quick: Bool, progress: (String) -> Void) async throws -> [EndToEndBenchmark.Row] {
        var rows: [EndToEndBenchmark.Row] = []
        for temperature in temperatures {
            var baseline = 0.0
            for configuration in EndToEndBenchmark.configurations(quick: quick) + [.adaptive] {
                progress("cluster: \(configuration.verifier) K=\(configuration.drafts) γ=\(configuration.blockLength) τ=\(temperature)")
                var tokens = 0, passes = 0, draftedRounds = 0, chosenDrafts = 0, chosenBlocks = 0, decodedWhileDrafting = 0
                var seconds = 0.0, waitSeconds = 0.0, targetSeconds = 0.0
                var acceptedAt = [Int](repeating: 0, count: configuration.blockLength)
                for (i, prompt) in EndToEndBenchmark.prompts.enumerated() {
                    var request = EndToEndBenchmark.chatRequest(prompt, maxTokens: maxTokens, temperature: temperature, seed: i)
                    request.noDraft = configuration.drafts == 0
                    request.verifier = EndToEndBenchmark.verifier(configuration, temperature: temperature).rawValue
                    request.numDrafts = configuration.adaptive ? 0 : UInt32(configuration.drafts)
                    request.blockLength = configuration.adaptive ? 0 : UInt32(configuration.blockLength)
                    let start = ContinuousClock.now
                    for try await event in client.generate(request) {
                        guard case .chunk(let chunk) = event else { continue }
                        tokens += chunk.tokens.count
                        for round in chunk.passes {
                            targetSeconds += round.targetMicros / 1e6
                            if round.decodedWhileDrafting {
                                decodedWhileDrafting += 1
                                continue
                            }
                            passes += 1
                            waitSeconds += round.waitMicros / 1e6
                            guard round.drafts > 0 else { continue }
                            draftedRounds += 1
                            chosenDrafts += Int(round.drafts)
                            chosenBlocks += Int(round.depth)
                            for p in 0..<min(Int(round.accepted), acceptedAt.count) { acceptedAt[p] += 1 }
                        }
                    }
                    seconds += (ContinuousClock.now - start) / .seconds(1)
                }
                let rate = Double(tokens) / seconds
                if configuration.drafts == 0 { baseline = rate }
                let perPass = Double(tokens - decodedWhileDrafting) / Double(max(passes, 1))
                rows.append(EndToEndBenchmark.Row(
                    mode: "cluster", configuration: configuration, temperature: temperature, tokens: tokens, seconds: seconds,
                    tokensPerSecond: rate, speedup: baseline > 0 ? rate / baseline : 1, tokensPerPass: perPass,
                    draftSeconds: 0, targetSeconds: targetSeconds, draftWaitSeconds: waitSeconds, projectedGPUSpeedup: perPass,
                    acceptanceByPosition: acceptedAt.map { Double($0) / Double(max(draftedRounds, 1)) },
                    chosenDrafts: configuration.adaptive ? Double(chosenDrafts) / Double(max(draftedRounds, 1)) : nil,
                    chosenBlockLength: configuration.adaptive ? Double(chosenBlocks) / Double(max(draftedRounds, 1)) : nil,
                    decodedWhileDrafting: decodedWhileDrafting))
            }
        }
        return rows
    }
}
