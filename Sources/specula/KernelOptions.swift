import ArgumentParser
import Foundation
import SpeculaKernels
import SpeculaModel

/// `--kernels`: the engine's kernel level for the models a command loads — `auto` (the fastest
/// this CPU runs), or one level forced, which the CPU must have.
struct KernelOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Kernel level: auto (the fastest this CPU runs), \(KernelLevel.allCases.map(\.rawValue).joined(separator: " or ")).",
        discussion: "Default: $\(KernelSet.environmentVariable), else auto. `specula --version` lists the levels this CPU runs."))
    var kernels: String?

    /// Refuses a level this CPU lacks, and makes the choice the one every model of the process
    /// loads with (through the environment, as `SPECULA_KERNELS` would).
    func validate() throws {
        if let kernels { setenv(KernelSet.environmentVariable, kernels, 1) }
        do {
            _ = try KernelSet.chosenLevel()
        } catch {
            throw ValidationError("\(kernels == nil ? KernelSet.environmentVariable : "--kernels"): \(error)")
        }
    }
}
