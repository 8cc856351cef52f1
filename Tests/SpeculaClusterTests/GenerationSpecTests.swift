import SpeculaCluster
import SpeculaCore
import SpeculaNet
import Testing

/// The door every request passes (`GenerationSpec`): each bad field refused by name, the values
/// around each bound on the right side of it, and the defaults filled in.
struct GenerationSpecTests {
    let target = try! ClusterModel.load("synthetic:vocab=8,seed=1")

    func request(_ edit: (inout GenerateRequest) -> Void) -> GenerateRequest {
        var request = GenerateRequest()
        request.promptTokens = [1, 2]
        request.maxTokens = 4
        request.sampling = WireSampling(temperature: 1, topK: 0, topP: 1, minP: 0)
        edit(&request)
        return request
    }

    func refusal(_ edit: (inout GenerateRequest) -> Void, limits: GenerationSpec.Limits = .init()) -> String? {
        do {
            _ = try GenerationSpec(request(edit), target: target, limits: limits)
            return nil
        } catch {
            return error.field
        }
    }

    @Test func everyBadSamplingValueIsRefusedNamingItsField() {
        for t in [Double.nan, .infinity, -.infinity, -1, -Double.leastNonzeroMagnitude] {
            #expect(refusal { $0.sampling?.temperature = t } == "temperature", "\(t)")
        }
        for p in [Double.nan, 1.0000001, 2, -0.5] { #expect(refusal { $0.sampling?.topP = p } == "top_p", "\(p)") }
        for m in [Double.nan, 1, 2, -1] { #expect(refusal { $0.sampling?.minP = m } == "min_p", "\(m)") }
        for k in [UInt32(9), .max] { #expect(refusal { $0.sampling?.topK = k } == "top_k", "\(k)") }
    }

    @Test func valuesOnTheRightSideOfEachBoundAreTaken() {
        for t in [0, Double.leastNonzeroMagnitude, 1e19, .greatestFiniteMagnitude] { #expect(refusal { $0.sampling?.temperature = t } == nil) }
        for p in [0, Double.leastNonzeroMagnitude, 1] { #expect(refusal { $0.sampling?.topP = p } == nil) }
        for m in [0, 0.999_999] { #expect(refusal { $0.sampling?.minP = m } == nil) }
        #expect(refusal { $0.sampling?.topK = 8 } == nil)
    }

    @Test func requestShapeIsChecked() {
        #expect(refusal { $0.verifier = "nope" } == "verifier")
        #expect(refusal { $0.verifier = "spectr-gbv-published" } == "verifier")
        #expect(refusal { $0.verifier = "greedy" } == "verifier")  // at temperature 1
        #expect(refusal { $0.numDrafts = 17 } == "num_drafts")
        #expect(refusal { $0.blockLength = 33 } == "block_length")
        #expect(refusal { $0.stop = Array(repeating: "x", count: 17) } == "stop")
        #expect(refusal { $0.stop = [String(repeating: "x", count: 1025)] } == "stop")
        #expect(refusal { $0.promptTokens = [] } == "prompt")
        #expect(refusal { $0.promptTokens = [8] } == "prompt_tokens")
        #expect(refusal { $0.prompt = "text" } == "prompt")  // the synthetic model has no tokenizer
        #expect(refusal { $0.maxTokens = 0 } == "max_tokens")
    }

    @Test func theContextIsBoundedByTheFrameAWorkerTakes() {
        var limits = GenerationSpec.Limits()
        limits.maxContextTokens = GenerationSpec.contextTokens(fittingIn: 64 << 10)
        let room = limits.maxContextTokens - 2
        #expect(refusal({ $0.maxTokens = UInt32(room) }, limits: limits) == nil)
        #expect(refusal({ $0.maxTokens = UInt32(room + 1) }, limits: limits) == "max_tokens")
        #expect(refusal { $0.maxTokens = .max } == "max_tokens")
    }

    @Test func defaultsAreFilledIn() throws {
        let spec = try GenerationSpec(request { $0.sampling = nil; $0.verifier = "" }, target: target, limits: .init())
        #expect(spec.sampling == SamplingParameters())
        #expect(spec.verifier == .mixedBlock && spec.drafts == 2 && spec.blockLength == 4 && spec.adaptive)
        let greedy = try GenerationSpec(request { $0.sampling?.temperature = 0; $0.numDrafts = 3 }, target: target, limits: .init())
        #expect(greedy.verifier == .greedy && greedy.drafts == 3 && !greedy.adaptive)
        let single = try GenerationSpec(request { $0.verifier = "block"; $0.numDrafts = 3 }, target: target, limits: .init())
        #expect(single.drafts == 1)
    }
}
