import ArgumentParser
import SpeculaCore

/// `--temperature --top-k --top-p --min-p`, shared by every command that samples.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Double = 1
    @Option(help: "Top-k (0 = off).") var topK: Int = 0
    @Option(help: "Top-p (1 = off).") var topP: Double = 1
    @Option(help: "Min-p (0 = off).") var minP: Double = 0

    func validate() throws {
        guard temperature >= 0 else { throw ValidationError("'--temperature' cannot be negative.") }
        guard topK >= 0 else { throw ValidationError("'--top-k' cannot be negative.") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("'--top-p' must be in (0, 1].") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("'--min-p' must be in [0, 1).") }
    }

    var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP)
    }
}
