package import SpeculaCore
import SpeculaJinja
import SpeculaModel
package import SpeculaNet

/// A generation's settings, checked once at the door before any work: every field of a
/// `Generate` in range, the prompt tokenized and within the context that is left.
///
/// Why one type: the native protocol, `generate --local` and any future API must refuse the same
/// inputs with the same words, and nothing past this point may trap on a peer's numbers (a NaN
/// temperature, a min-p that cuts every token, a context whose `Speculate` would exceed the
/// frame limit the workers enforce).
package struct GenerationSpec: Sendable {
    package let promptTokens: [Token]
    package let maxTokens: Int
    package let sampling: SamplingParameters
    package let seed: UInt64
    package let verifier: VerifierKind
    /// K (0: the target decodes alone) and γ, as asked for or defaulted.
    package let drafts: Int
    package let blockLength: Int
    /// K and γ are left to the coordinator.
    package let adaptive: Bool
    package let stop: [String]

    /// What the server allows; the model's own limits come from `ClusterModel`.
    package struct Limits: Sendable {
        package var defaultDrafts = 2
        package var defaultBlockLength = 4
        package var maxDrafts = 16
        package var maxBlockLength = 32
        /// The longest context (prompt + output) any request may reach, whatever the model allows:
        /// a context must fit in one `Speculate` frame to a worker.
        package var maxContextTokens = GenerationSpec.contextTokens(fittingIn: WireProtocol.defaultMaxFrameSize)
        package var maxStopStrings = 16
        package var maxStopBytes = 1024

        package init() {}

        /// The longest context a request on `target` may reach.
        package func contextTokens(of target: ClusterModel) -> Int { min(maxContextTokens, target.maxSequenceLength ?? .max) }
    }

    /// The most context tokens a frame of `frameSize` bytes carries with room for a `Speculate`'s
    /// other fields (a token id is at most 5 bytes on the wire).
    package static func contextTokens(fittingIn frameSize: Int) -> Int { max(0, (frameSize - 1024) / 5) }

    /// A request refused at the door: the field at fault and why.
    package struct Rejection: Error, Sendable, CustomStringConvertible {
        package let field: String
        package let message: String
        package var description: String { "\(field): \(message)" }
    }

    /// Checks `request` against `target` and `limits`; tokenizes a text prompt.
    package init(_ request: GenerateRequest, target: ClusterModel, limits: Limits) throws(Rejection) {
        func reject(_ field: String, _ message: String) -> Rejection { Rejection(field: field, message: message) }
        let wire = request.sampling ?? WireSampling()
        let vocabulary = target.vocabularySize
        let temperature = request.sampling == nil ? 1 : wire.temperature
        guard temperature.isFinite, temperature >= 0 else {
            throw reject("temperature", "must be a finite number ≥ 0, got \(temperature)")
        }
        guard wire.topK <= vocabulary else {
            throw reject("top_k", "must be at most the vocabulary size \(vocabulary) (0 = off), got \(wire.topK)")
        }
        // proto3's default 0 means "off", as 1 does.
        guard wire.topP.isFinite, wire.topP >= 0, wire.topP <= 1 else {
            throw reject("top_p", "must be in (0, 1] (0 = off), got \(wire.topP)")
        }
        guard wire.minP.isFinite, wire.minP >= 0, wire.minP < 1 else {
            throw reject("min_p", "must be in [0, 1), got \(wire.minP)")
        }
        sampling = SamplingParameters(temperature: temperature, topK: Int(wire.topK), topP: wire.topP == 0 ? 1 : wire.topP,
                                      minP: wire.minP)

        let name = request.verifier.isEmpty ? VerifierKind.defaultKind(temperature: temperature).rawValue : request.verifier
        guard let kind = VerifierKind(name: name) else {
            throw reject("verifier", "unknown verifier '\(name)'; choose one of \(VerifierKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard kind.isLossless || request.allowLossy else {
            throw reject("verifier", "'\(kind.rawValue)' is not lossless; set allow_lossy to use it anyway")
        }
        guard !kind.requiresGreedy || sampling.isGreedy else { throw reject("verifier", "'greedy' needs temperature 0") }
        verifier = kind

        guard request.numDrafts <= limits.maxDrafts else {
            throw reject("num_drafts", "must be at most \(limits.maxDrafts) (0 = the coordinator chooses), got \(request.numDrafts)")
        }
        guard request.blockLength <= limits.maxBlockLength else {
            throw reject("block_length", "must be at most \(limits.maxBlockLength) (0 = the coordinator chooses), got \(request.blockLength)")
        }
        let asked = request.noDraft ? 0 : request.numDrafts == 0 ? limits.defaultDrafts : Int(request.numDrafts)
        drafts = kind.usesMultipleDrafts ? asked : min(asked, 1)
        blockLength = request.blockLength == 0 ? limits.defaultBlockLength : Int(request.blockLength)
        adaptive = !request.noDraft && request.numDrafts == 0 && request.blockLength == 0 && kind.usesMultipleDrafts

        guard request.stop.count <= limits.maxStopStrings else {
            throw reject("stop", "at most \(limits.maxStopStrings) stop strings, got \(request.stop.count)")
        }
        guard request.stop.allSatisfy({ $0.utf8.count <= limits.maxStopBytes }) else {
            throw reject("stop", "a stop string may have at most \(limits.maxStopBytes) bytes")
        }
        stop = request.stop.filter { !$0.isEmpty }

        let context = limits.contextTokens(of: target)
        let prompt = try Self.promptTokens(of: request, target: target)
        guard !prompt.isEmpty else { throw reject("prompt", "the prompt is empty") }
        guard prompt.allSatisfy({ $0 < vocabulary }) else {
            throw reject("prompt_tokens", "has ids outside 0..<\(vocabulary)")
        }
        guard request.maxTokens >= 1 else { throw reject("max_tokens", "must be at least 1") }
        guard prompt.count < context, Int(request.maxTokens) <= context - prompt.count else {
            throw reject("max_tokens", "the prompt (\(prompt.count) tokens) + max_tokens (\(request.maxTokens)) exceeds the context length \(context)")
        }
        promptTokens = prompt
        maxTokens = Int(request.maxTokens)
        seed = request.seed
    }

    /// The prompt's tokens: `prompt_tokens` as they are, a text prompt tokenized, or a chat
    /// (`messages`, or `prompt` with `chat`) rendered with the target's chat template.
    package static func promptTokens(of request: GenerateRequest, target: ClusterModel) throws(Rejection) -> [Token] {
        if !request.messages.isEmpty || request.chat {
            let messages = request.messages.isEmpty ? [ChatMessage(role: "user", content: request.prompt)]
                : request.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            return try chatPrompt(messages, target: target)
        }
        guard !request.prompt.isEmpty else { return request.promptTokens.map(Int.init) }
        guard let tokenizer = target.tokenizer else {
            throw Rejection(field: "prompt", message: "this coordinator's model has no tokenizer; send prompt_tokens")
        }
        return tokenizer.encode(request.prompt)
    }

    /// The tokens of a chat rendered with the target's chat template.
    private static func chatPrompt(_ messages: [ChatMessage], target: ClusterModel) throws(Rejection) -> [Token] {
        guard let tokenizer = target.tokenizer, let template = target.chatTemplate else {
            throw Rejection(field: "messages", message: "this coordinator's model has no tokenizer or chat template; send prompt_tokens")
        }
        do {
            return try template.get().tokens(messages, tokenizer: tokenizer)
        } catch where error.kind == .raised {
            throw Rejection(field: "messages", message: error.message)
        } catch {
            throw Rejection(field: "messages", message: "the chat template failed (\(error)); the coordinator can take another with --chat-template-file")
        }
    }
}
