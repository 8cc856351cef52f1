import ArgumentParser
import SpeculaModel

/// `--output-head file|q4_0|candidates[:N]` (workers) and `--draft-output-head` (local runs).
extension OutputHead: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] { ["file", "q4_0", "candidates", "candidates:N"] }

    /// Help shared by every command that loads a draft.
    static let help = """
        How the draft computes its logits. file: the file's output matrix, every row. q4_0: that \
        matrix requantized to 4 bits (drafting 11-17% faster on one core for the Qwen 0.5B, ~2% \
        fewer accepted tokens). candidates[:N]: exact logits for the N (default \(defaultCandidates)) \
        tokens a one-bit sketch of the matrix ranks highest, the rest impossible: the shipped top \
        64 stays nearly always the same. The output stays exactly the target's either way (the \
        verifier sees the distribution the draft sampled from); workers with different heads form \
        pools of their own.
        """
}
