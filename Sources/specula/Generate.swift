import ArgumentParser
import Foundation
import SpeculaCluster
import SpeculaCore
import SpeculaModel
import SpeculaNet

/// `specula generate`: the client.
struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate through a coordinator, streaming tokens as they arrive.",
        discussion: """
            With --prompt-tokens, prints the generated token ids comma-separated. --samples M sends \
            M independent requests concurrently (sample i uses seed --seed + i) and prints one line \
            per sample, in order, like `specula sample` does in-process. --json prints per-round \
            statistics as JSON lines instead (every sample's rounds, as they happen).

            Example: specula generate --coordinator 127.0.0.1:7070 --prompt-tokens 0,1 \\
                       --max-tokens 3 --samples 1000 --seed 7 --verifier multidraft-block --drafts 2 --block 3
            """)

    @OptionGroup var logging: LoggingOptions
    @Option(help: "Coordinator address, HOST:PORT.") var coordinator: String = "127.0.0.1:7070"
    @Argument(help: "The prompt text (models with a tokenizer).") var prompt: String?
    @Option(help: "Prompt token ids, comma-separated.") var promptTokens: String?
    @Option(help: "Tokens to generate.") var maxTokens: Int = 64
    @Option(help: "Independent samples (concurrent requests).") var samples: Int = 1
    @Option(help: "Requests in flight at once with --samples.") var concurrency: Int = 64
    @Option(help: "Random seed (sample i uses seed + i).") var seed: UInt64 = 0
    @Option(help: "Verifier (default: multidraft-block, greedy at temperature 0).") var verifier: VerifierKind?
    @Option(help: "Drafts per round, K (0: coordinator chooses).") var drafts: Int = 0
    @Option(help: "Block length γ (0: coordinator chooses).") var block: Int = 0
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Allow a lossy verifier (for comparisons).") var allowLossy = false
    @Flag(help: "Plain target decoding through the coordinator, no drafts (for comparisons).") var noDraft = false
    @Flag(help: "Print per-round statistics as JSON lines.") var json = false
    @Flag(help: "Wrap the prompt in the model's chat template.") var chat = false
    @Option(help: "Stop when the output contains this text (repeatable).") var stop: [String] = []
    @OptionGroup var auth: AuthOptions
    @Flag(help: "Run target and drafts in this process (no network), for comparisons.") var local = false
    @Option(help: "Target model for --local (GGUF file, cached name, toy JSON or synthetic spec).") var target: String?
    @Option(help: "Draft model for --local.") var draftModel: String?
    @Option(help: "With --local: the draft's output head (as `specula draft --output-head`).") var draftOutputHead: OutputHead?
    @Option(help: "With --local: the draft's layer weights (as `specula draft --weights`).") var draftWeights: LayerWeights?
    @Option(help: "Compute threads for --local.") var threads: Int = 2
    @OptionGroup var kernelOptions: KernelOptions

    func validate() throws {
        _ = try HostPort(coordinator, flag: "--coordinator")
        guard prompt != nil || promptTokens != nil else { throw ValidationError("Give a prompt or --prompt-tokens.") }
        if let promptTokens { _ = try TokenList.parse(promptTokens, flag: "--prompt-tokens") }
        if local {
            guard target != nil else { throw ValidationError("--local needs --target MODEL.") }
            guard noDraft || draftModel != nil else { throw ValidationError("--local needs --draft-model MODEL (or --no-draft).") }
        }
        guard maxTokens >= 1 else { throw ValidationError("Please specify a '--max-tokens' of at least 1.") }
        guard samples >= 1, concurrency >= 1 else { throw ValidationError("--samples and --concurrency must be at least 1.") }
    }

    func run() async throws {
        _ = logging.makeLogger("specula.generate")
        if local { return try runLocal() }
        let address = try HostPort(coordinator, flag: "--coordinator")
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let client = try await SpeculaClient.connect(loop: loop, host: address.host, port: address.port, authSecret: try auth.secret())
        defer { client.close() }
        let request = try wireRequest()

        var lines = [String](repeating: "", count: samples)
        try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var next = 0
            func launch() {
                let index = next
                next += 1
                var sample = request
                sample.seed = seed &+ UInt64(index)
                let streamText = promptTokens == nil && samples == 1 && !json
                group.addTask { (index, try await Self.collect(client.generate(sample), json: json, streamText: streamText)) }
            }
            for _ in 0..<min(concurrency, samples) { launch() }
            for try await (index, line) in group {
                lines[index] = line
                if next < samples { launch() }
            }
        }
        if promptTokens == nil && samples == 1 && !json {
            print("")
        } else if !json {
            print(lines.joined(separator: "\n"))
        }
    }

    /// The request the flags describe, as it goes on the wire (and, with --local, through the
    /// same checks as the coordinator's).
    private func wireRequest() throws -> GenerateRequest {
        var request = GenerateRequest()
        request.prompt = prompt ?? ""
        request.promptTokens = try TokenList.parse(promptTokens ?? "", flag: "--prompt-tokens").map { UInt32(clamping: $0) }
        request.maxTokens = UInt32(clamping: maxTokens)
        request.sampling = sampling.parameters.wire
        request.verifier = verifier?.rawValue ?? ""
        request.numDrafts = UInt32(clamping: drafts)
        request.blockLength = UInt32(clamping: block)
        request.allowLossy = allowLossy
        request.noDraft = noDraft
        request.chat = chat
        request.stop = stop
        return request
    }

    /// The generated token ids of one stream, comma-separated (printing each pass's stats with `json`).
    private static func collect(_ stream: AsyncThrowingStream<SpeculaClient.GenerationEvent, Error>, json: Bool, streamText: Bool = false) async throws -> String {
        var tokens: [UInt32] = []
        for try await event in stream {
            switch event {
            case .chunk(let chunk):
                tokens += chunk.tokens
                if streamText {
                    FileHandle.standardOutput.write(Data(chunk.text.utf8))
                }
                if json {
                    for pass in chunk.passes { try JSONOutput.print(GenerationJSONLines.Pass(pass), pretty: false) }
                }
            case .done(let done):
                if json { try JSONOutput.print(GenerationJSONLines.End(done), pretty: false) }
            }
        }
        return tokens.map(String.init).joined(separator: ",")
    }

    /// `--local`: the same rounds in this process.
    private func runLocal() throws {
        let targetModel = try ClusterModel.load(target!, threads: threads)
        let draft = noDraft ? nil : try ClusterModel.loadDraft(draftModel!, threads: threads, outputHead: draftOutputHead, layerWeights: draftWeights)
        if let draft, draft.tokenizerFingerprint != targetModel.tokenizerFingerprint {
            throw ValidationError("--draft-model has tokenizer \(draft.tokenizerFingerprint), --target has \(targetModel.tokenizerFingerprint).")
        }
        let generator = LocalGenerator(target: targetModel, draft: draft)
        var request = try wireRequest()
        for i in 0..<samples {
            request.seed = seed &+ UInt64(i)
            var decoder = targetModel.tokenizer.map { StreamingDecoder(tokenizer: $0) }
            let streamText = prompt != nil && samples == 1
            let (tokens, stats): ([Token], LocalGenerator.Stats)
            do {
                (tokens, stats) = try generator.generate(request) { new in
                    if streamText, var d = decoder {
                        FileHandle.standardOutput.write(Data(d.append(new.filter { $0 != targetModel.endOfSequence }).utf8))
                        decoder = d
                    }
                }
            } catch {
                throw ValidationError("The request was refused: \(error)")
            }
            if streamText {
                print("")
            } else {
                print(TokenList.format(tokens))
            }
            if json {
                try JSONOutput.print(stats, pretty: false)
            }
        }
    }
}
