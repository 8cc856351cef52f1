import ArgumentParser
import SpeculaModel

/// `--weights file|q4_0` (workers) and `--draft-weights` (local runs and benchmarks).
extension LayerWeights: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public var defaultValueDescription: String { name }

    public static var allValueStrings: [String] { ["file", "q4_0"] }

    /// Help shared by every command that loads a draft.
    static let help = """
        How the draft stores its layers' weights. q4_0 (the default for GGUF drafts): every \
        layer matrix requantized to Q4_0 at load; the Qwen 0.5B (Q5_0, Q4_K, Q6_K, Q8_0 layers) \
        then drafts 1.4× as many tokens per second on one core, with about the same tokens \
        accepted. file: the file's weights as they are. The output stays exactly the target's \
        either way; workers with different weights form pools of their own.
        """
}
