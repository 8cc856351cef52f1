/// How a model turns its last hidden states into logits. Anything but `.file` changes the model,
/// so it is for drafts only (any draft keeps verification lossless; a changed draft is its own
/// worker pool, by fingerprint).
package enum OutputHead: Sendable, Hashable {
    /// The file's output matrix, every row, with the engine's usual kernels.
    case file
    /// The output matrix requantized to Q4_0 (`WeightMatrix.requantizedAsQ4_0`).
    case requantizedQ4_0
    /// Exact logits for the given number of candidates a one-bit sketch ranks highest, −∞ for
    /// the rest (`CandidateOutput`).
    case candidates(Int)

    /// Candidates per token when not given: four times the default shipped support (64).
    package static let defaultCandidates = 256

    /// The head by name: `file`, `q4_0`, `candidates` (`defaultCandidates`) or `candidates:N`.
    package init?(name: String) {
        switch name {
        case "file": self = .file
        case "q4_0": self = .requantizedQ4_0
        case "candidates": self = .candidates(Self.defaultCandidates)
        default:
            guard name.hasPrefix("candidates:"), let count = Int(name.dropFirst("candidates:".count)), count > 0 else { return nil }
            self = .candidates(count)
        }
    }

    /// The name `init?(name:)` reads back.
    package var name: String {
        switch self {
        case .file: "file"
        case .requantizedQ4_0: "q4_0"
        case .candidates(let count): count == Self.defaultCandidates ? "candidates" : "candidates:\(count)"
        }
    }

    /// What distinguishes this head in a model's fingerprint ("" for the file's own).
    package var fingerprintSuffix: String {
        switch self {
        case .file: ""
        case .requantizedQ4_0: "+output-q4_0"
        case .candidates(let count): "+output-candidates-\(count)"
        }
    }
}
