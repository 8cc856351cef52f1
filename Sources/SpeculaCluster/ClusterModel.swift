import Foundation
package import SpeculaCore
import SpeculaModel

/// A model loaded for a cluster role, with the identity the handshake compares.
///
/// `fingerprint` names the exact weights (workers are pooled by it: the multi-draft verifiers need
/// all drafts of a round from one draft distribution); `tokenizerFingerprint` names the vocabulary
/// (a worker whose tokenizer differs from the target's is refused).
package struct ClusterModel: Sendable {
    package let model: any ExactModel
    package let fingerprint: String
    package let tokenizerFingerprint: String
    package let endOfSequence: Token?
    package let source: String

    package var vocabularySize: Int { model.vocabularySize }

    /// Loads `--model SPEC`: a toy n-gram JSON file today; GGUF files and synthetic specs join as
    /// the engine lands.
    package static func load(_ spec: String) throws -> ClusterModel {
        if spec.hasSuffix(".json") {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: spec)) } catch {
                throw ClusterModelError.unreadable(spec, error.localizedDescription)
            }
            let model = try NGramModel(json: data, source: spec)
            return ClusterModel(
                model: model, fingerprint: "sha256:" + SHA256.hex(data),
                tokenizerFingerprint: "toy-vocab-\(model.vocabularySize)", endOfSequence: nil, source: spec)
        }
        if spec.hasSuffix(".gguf") {
            throw ClusterModelError.unsupported(spec, "GGUF models need the inference engine, which is not in this build yet")
        }
        throw ClusterModelError.unsupported(spec, "expected a toy n-gram .json file")
    }
}

/// Why `--model` could not be loaded.
package enum ClusterModelError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unsupported(String, String)

    package var description: String {
        switch self {
        case .unreadable(let spec, let why): "cannot read model \(spec): \(why)"
        case .unsupported(let spec, let why): "cannot load model \(spec): \(why)"
        }
    }
}
