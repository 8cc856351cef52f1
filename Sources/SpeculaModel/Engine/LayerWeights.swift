/// How a model stores the weight matrices of its transformer layers. Anything but `.file`
/// changes the model, so it is for drafts only (any draft keeps verification lossless; a changed
/// draft is its own worker pool, by fingerprint).
package enum LayerWeights: Sendable, Hashable {
    /// The file's matrices as they are.
    case file
    /// Every layer matrix requantized to Q4_0 at load (`WeightMatrix.requantizedAsQ4_0`), except
    /// Q4_0 and Q4_1 ones: a draft bound by memory bandwidth reads fewer bytes per token, and the
    /// Q4_0 kernel is the engine's cheapest (the Qwen 0.5B, Q5_0/Q4_K/Q6_K layers: 1.4× the
    /// tokens per second on one core, about the same tokens accepted).
    case requantizedQ4_0

    /// The weights by name: `file` or `q4_0`.
    package init?(name: String) {
        switch name {
        case "file": self = .file
        case "q4_0": self = .requantizedQ4_0
        default: return nil
        }
    }

    /// The name `init?(name:)` reads back.
    package var name: String {
        switch self {
        case .file: "file"
        case .requantizedQ4_0: "q4_0"
        }
    }

    /// What distinguishes these weights in a model's fingerprint ("" for the file's own).
    package var fingerprintSuffix: String {
        switch self {
        case .file: ""
        case .requantizedQ4_0: "+layers-q4_0"
        }
    }
}
