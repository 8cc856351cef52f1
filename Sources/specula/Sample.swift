import ArgumentParser
import SpeculaCore
import SpeculaModel

/// `specula sample`: speculative sampling in one process on toy models, for statistical checks.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample toy-model generations in-process (no network), or print their exact law.",
        discussion: """
            Runs drafting and verification exactly as the cluster does, on toy n-gram models \
            (JSON, see README). Prints one line per sample with the generated token ids, \
            comma-separated. Sample i uses random stream i of --seed, so different seeds give \
            independent samples. With --exact, prints instead the exact law of the N-token output, \
            computed by enumerating every draft and every accept/reject branch: one line \
            `ids<TAB>probability` per outcome. --target-law prints the target's own law the same way.

            Example: specula sample --target t.json --draft d.json --verifier multidraft-block \\
                       --drafts 2 --block 3 --prompt-tokens 0,1 --max-tokens 3 --samples 1000 --seed 7
            """)

    @Option(help: "Target model: toy n-gram JSON file.") var target: String
    @Option(help: "Draft model: toy n-gram JSON file.") var draft: String
    @Option(help: "Verifier (alias spectr-gbv for multidraft-block).") var verifier: VerifierKind = .multidraftBlock
    @Option(help: "Drafts per round (K).") var drafts: Int = 2
    @Option(help: "Block length (γ).") var block: Int = 3
    @Option(help: "Prompt token ids, comma-separated.") var promptTokens: String = ""
    @Option(help: "Tokens to generate per sample (N).") var maxTokens: Int = 3
    @Option(help: "Number of samples.") var samples: Int = 1
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @OptionGroup var sampling: SamplingOptions
    @Flag(help: "Print the exact law of the output instead of samples.") var exact = false
    @Flag(help: "Print the exact law of plain target sampling instead of samples.") var targetLaw = false

    func validate() throws {
        guard drafts >= 1 else { throw ValidationError("Please specify a '--drafts' of at least 1.") }
        guard block >= 1 else { throw ValidationError("Please specify a '--block' of at least 1.") }
        guard maxTokens >= 1 else { throw ValidationError("Please specify a '--max-tokens' of at least 1.") }
        guard samples >= 0 else { throw ValidationError("'--samples' cannot be negative.") }
        _ = try TokenList.parse(promptTokens, flag: "--prompt-tokens")
    }

    func run() throws {
        let targetModel = try NGramModel(contentsOf: target)
        let draftModel = try NGramModel(contentsOf: draft)
        guard targetModel.vocabularySize == draftModel.vocabularySize else {
            throw ValidationError("--target has \(targetModel.vocabularySize) tokens but --draft has \(draftModel.vocabularySize); they must share a vocabulary.")
        }
        let prompt = try TokenList.parse(promptTokens, flag: "--prompt-tokens")
        guard prompt.allSatisfy({ (0..<targetModel.vocabularySize).contains($0) }) else {
            throw ValidationError("--prompt-tokens has ids outside 0..<\(targetModel.vocabularySize).")
        }
        let kind = verifier
        let sampler = SpeculativeSampler(
            target: targetModel, draft: draftModel, verifier: kind.makeVerifier(),
            sampling: sampling.parameters,
            drafts: drafts, blockLength: block)
        if exact || targetLaw {
            let analysis = ExactAnalysis(sampler: sampler)
            let law = targetLaw
                ? analysis.targetLaw(prompt: prompt, count: maxTokens)
                : analysis.outputLaw(prompt: prompt, count: maxTokens)
            for (tokens, p) in law.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                print("\(TokenList.format(tokens))\t\(p)")
            }
            return
        }
        var lines = ""
        for i in 0..<samples {
            var choices = StreamChoices(RandomStream(seed: seed, stream: UInt64(i)))
            lines += TokenList.format(sampler.generate(prompt: prompt, maxTokens: maxTokens, choices: &choices))
            lines += "\n"
            if lines.utf8.count > 1 << 16 {
                print(lines, terminator: "")
                lines = ""
            }
        }
        print(lines, terminator: "")
    }
}
