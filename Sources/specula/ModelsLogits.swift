import ArgumentParser
import Foundation
import SpeculaModel

extension Models {
    /// `specula models logits`: raw logits for a token sequence, as JSON.
    struct Logits: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the top raw logits (before any sampling transform) after a token sequence, as JSON.",
            discussion: """
                Runs the engine's forward pass over --tokens in one pass and prints, for the last \
                position (or every position with --all-positions), the --top highest logits as \
                {"position": p, "top": [[token, logit], …]}. Used by the reference tests.
                """)

        @Option(help: "A GGUF file or a cached model's name.") var model: String
        @Option(help: "Token ids, comma-separated.") var tokens: String
        @Option(help: "How many logits per position.") var top: Int = 20
        @Flag(help: "Print every position, not only the last.") var allPositions = false
        @Option(help: "Compute threads.") var threads: Int = 2
        @OptionGroup var kernelOptions: KernelOptions
        @Flag(help: "Evaluate the tokens one at a time (sequential decoding) instead of one pass.") var sequential = false
        @Option(help: "Activations for quantized weights: int8 (fast, the default) or float (matches a float64 reference).")
        var activations: ActivationPrecision = .int8

        func run() throws {
            let engine = try TransformerModel(path: ModelStore().resolve(model), threads: threads, precision: activations)
            let ids = try TokenList.parse(tokens, flag: "--tokens")
            guard !ids.isEmpty else { throw ValidationError("--tokens needs at least one id.") }
            guard ids.allSatisfy({ $0 < engine.vocabularySize }) else { throw ValidationError("--tokens has ids outside 0..<\(engine.vocabularySize).") }
            var rows: [[Float]]
            if sequential {
                var cache = engine.makeCache()
                rows = ids.map { engine.decode([$0], cache: &cache) }
            } else {
                // One pass over the whole chain; logits only for the positions printed.
                rows = engine.evaluate([.chain(ids)], caches: [engine.makeCache()], logitsFrom: [allPositions ? 0 : ids.count - 1])[0].logits
            }
            let positions = allPositions ? Array(rows.indices) : [rows.count - 1]
            var lines: [String] = []
            for p in positions {
                let best = rows[p].indices.sorted { rows[p][$0] != rows[p][$1] ? rows[p][$0] > rows[p][$1] : $0 < $1 }.prefix(top)
                lines.append(#"{"position":\#(p),"top":[\#(best.map { "[\($0),\(rows[p][$0])]" }.joined(separator: ","))]}"#)
            }
            print("[" + lines.joined(separator: ",\n") + "]")
        }
    }
}

extension ActivationPrecision: ExpressibleByArgument {}
