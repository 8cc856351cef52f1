import Foundation
package import SpeculaModel

/// `specula bench engine`: single-token decode speed, the cost of one verification pass of B
/// tokens (the table the coordinator uses to choose K and γ), load time and resident memory.
package enum EngineBenchmark {
    package struct PassRow: Codable, Sendable {
        package var tokens: Int
        package var meanMilliseconds: Double
        package var stddevMilliseconds: Double
        package var tokensPerSecond: Double
        /// Cost relative to a one-token pass.
        package var relativeCost: Double
    }

    package struct Report: Codable, Sendable {
        package var model: String
        package var architecture: String
        package var threads: Int
        /// The kernel level the engine ran on (`KernelLevel`).
        package var kernels: String
        /// `int8` or `float` (`ActivationPrecision`).
        package var activations: String
        /// The output head (`OutputHead`; "file" for the file's own).
        package var outputHead: String
        /// The layer weights (`LayerWeights`; "file" for the file's own).
        package var layerWeights: String
        package var loadSeconds: Double
        package var decodeTokensPerSecond: Double
        package var decodeTokens: Int
        package var contextTokens: Int
        package var passes: [PassRow]
        package var residentMegabytes: Double
        /// KV-cache bytes per token and at the model's full context length.
        package var kvCacheBytesPerToken: Int
        package var contextLength: Int
        package var kvCacheMegabytesAtContextLength: Double
        package var repetitions: Int
        package var host: String
    }

    package static func run(path: String, threads: Int, precision: ActivationPrecision = .int8, outputHead: OutputHead = .file, layerWeights: LayerWeights = .file, contextTokens: Int = 32, decodeTokens: Int, batchSizes: [Int], repetitions: Int, progress: (String) -> Void) throws -> Report {
        let start = ContinuousClock.now
        let engine = try TransformerModel(path: path, threads: threads, precision: precision, outputHead: outputHead, layerWeights: layerWeights)
        let loadSeconds = (ContinuousClock.now - start) / .seconds(1)
        guard contextTokens + decodeTokens + 1 + (batchSizes.max() ?? 0) <= engine.config.contextLength else {
            throw BenchmarkError.tooLong("context \(contextTokens) + \(decodeTokens) decoded (+ 1 untimed) + the largest pass exceed the model's context length \(engine.config.contextLength)")
        }
        let context = (0..<contextTokens).map { ($0 * 7919 + 13) % engine.vocabularySize }
        var cache = engine.makeCache()
        _ = engine.decode(context, cache: &cache)
        progress("decode \(decodeTokens) tokens")
        // The decode cache starts as a copy of the context's: one untimed step makes it its own
        // (its first append copies the shared last page of every layer), so the timed steps
        // measure decoding alone.
        var decodeCache = cache
        var token = 42
        _ = engine.decode([token], cache: &decodeCache)
        let decodeStart = ContinuousClock.now
        for _ in 0..<decodeTokens {
            let logits = engine.decode([token], cache: &decodeCache)
            token = logits.indices.max { logits[$0] < logits[$1] } ?? 0
        }
        let decodeRate = Double(decodeTokens) / ((ContinuousClock.now - decodeStart) / .seconds(1))
        var rows: [PassRow] = []
        for b in batchSizes {
            progress("pass of \(b) tokens")
            let tree = TokenTree.chain((0..<b).map { ($0 * 104_729 + 7) % engine.vocabularySize })
            var times: [Double] = []
            for _ in 0..<repetitions {
                let t0 = ContinuousClock.now
                _ = engine.evaluate([tree], caches: [cache])
                times.append((ContinuousClock.now - t0) / .milliseconds(1))
            }
            let mean = times.reduce(0, +) / Double(times.count)
            let sd = (times.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, times.count - 1))).squareRoot()
            rows.append(PassRow(tokens: b, meanMilliseconds: mean, stddevMilliseconds: sd, tokensPerSecond: Double(b) / mean * 1000, relativeCost: 0))
        }
        // Relative to a timed one-token pass, or to a decode step when no size 1 was asked for.
        let one = rows.first { $0.tokens == 1 }?.meanMilliseconds ?? 1000 / decodeRate
        for i in rows.indices { rows[i].relativeCost = rows[i].meanMilliseconds / one }
        return Report(model: path, architecture: engine.config.architecture, threads: threads, kernels: engine.kernels.level.rawValue,
                      activations: precision.rawValue, outputHead: outputHead.name, layerWeights: layerWeights.name, loadSeconds: loadSeconds,
                      decodeTokensPerSecond: decodeRate, decodeTokens: decodeTokens, contextTokens: context.count, passes: rows,
                      residentMegabytes: residentMegabytes(), kvCacheBytesPerToken: engine.kvBytesPerToken,
                      contextLength: engine.config.contextLength,
                      kvCacheMegabytesAtContextLength: Double(engine.kvBytesPerToken * engine.config.contextLength) / 1_048_576, repetitions: repetitions, host: ProcessInfo.processInfo.hostName)
    }

    /// VmRSS of this process, from /proc.
    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}
