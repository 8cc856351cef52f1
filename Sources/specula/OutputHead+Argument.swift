import ArgumentParser
import SpeculaModel

/// `--output-head file|q4_0|candidates[:N]` (workers) and `--draft-output-head` (local runs).
extension OutputHead: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] { ["file", "q4_0", "candidates", "candidates:N"] }

    /// Help shared by every command that loads a draft.
    static let help = """
        How the draft computes its logits. candidates[:N] (the default for GGUF drafts): exact \
        logits for the N (default \(defaultCandidates)) tokens a one-bit sketch of the output \
        matrix ranks highest, the rest impossible; for the Qwen 0.5B drafting runs 19-26% faster \
        on one core than with file, and the full head's argmax is a candidate at ~97% of \
        positions (SmolLM2: ~71%, a poor head there). file: the file's output matrix, every row. \
        q4_0: that matrix requantized to 4 bits (11-17% faster than file, ~2% fewer accepted \
        tokens). The output stays exactly the target's either way (the verifier sees the \
        distribution the draft sampled from); workers with different heads form pools of their \
        own.
        """
}
