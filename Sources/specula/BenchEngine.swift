import ArgumentParser
import Foundation
import SpeculaBench
import SpeculaModel

/// `specula bench engine`.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Decode speed and the cost of a verification pass of B tokens (release build).",
        discussion: """
            Loads the model (timed), decodes --decode-tokens tokens one at a time after a \
            --context-token context (attention grows with it), then times one pass of B tokens \
            for each --batch size (--repetitions each) after that context. The relative costs are \
            the table the coordinator uses to choose K and γ.
            """)

    @Option(help: "A GGUF file or a cached model's name.") var model: String
    @Option(help: "Compute threads.") var threads: Int = 2
    @OptionGroup var kernelOptions: KernelOptions
    @Option(help: "Activations for quantized weights: int8 (fast) or float.") var activations: ActivationPrecision = .int8
    @Option(help: ArgumentHelp("The output head (drafts' heads, to compare their speed).", discussion: OutputHead.help)) var outputHead: OutputHead = .file
    @Option(help: ArgumentHelp("The layer weights (drafts' weights, to compare their speed).", discussion: LayerWeights.help)) var weights: LayerWeights = .file
    @Option(help: "Tokens decoded one at a time.") var decodeTokens: Int = 32
    @Option(help: "Tokens in the context before decoding and before each pass.") var context: Int = 32
    @Option(help: "Pass sizes, comma-separated.") var batch: String = "1,2,4,8,16,32,64"
    @Option(help: "Timed passes per size.") var repetitions: Int = 3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let sizes = try TokenList.parse(batch, flag: "--batch").filter { $0 > 0 }
        guard context >= 1 else { throw ValidationError("--context must be at least 1") }
        let report = try EngineBenchmark.run(path: ModelStore().resolve(model), threads: threads, precision: activations, outputHead: outputHead, layerWeights: weights, contextTokens: context, decodeTokens: decodeTokens, batchSizes: sizes, repetitions: repetitions) { note in
            FileHandle.standardError.write(Data("… \(note)\n".utf8))
        }
        if json {
            try JSONOutput.print(report)
            return
        }
        print(String(format: "%@ (%@), %d threads, %@ kernels, %@ activations, output head %@, layer weights %@: load %.2f s, RSS %.0f MB", report.model, report.architecture, report.threads, report.kernels, report.activations, report.outputHead, report.layerWeights, report.loadSeconds, report.residentMegabytes))
        print(String(format: "KV cache: %d bytes per token, %.0f MB at the context length of %d tokens", report.kvCacheBytesPerToken, report.kvCacheMegabytesAtContextLength, report.contextLength))
        print(String(format: "decode: %.1f tokens/s after %d context tokens", report.decodeTokensPerSecond, report.contextTokens))
        for row in report.passes {
            print(String(format: "pass of %3d tokens: %8.1f ± %5.1f ms  %7.1f tokens/s  cost %.2f× one-token pass", row.tokens, row.meanMilliseconds, row.stddevMilliseconds, row.tokensPerSecond, row.relativeCost))
        }
    }
}
