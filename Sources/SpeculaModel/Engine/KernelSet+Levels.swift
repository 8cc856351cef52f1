internal import Foundation
package import SpeculaKernels
#if arch(x86_64)
internal import SpeculaKernelsAVX512
internal import SpeculaKernelsAVX2
#endif

extension KernelSet {
    /// The kernels of `level`, which this CPU must run (`KernelLevel.choose` checks).
    package static func of(_ level: KernelLevel) -> KernelSet {
        switch level {
        case .portable: return .portable
        case .avx512:
            #if arch(x86_64)
            return KernelSet(level: .avx512, vector: AVX512VectorKernels(), int8: AVX512MatrixKernels())
            #else
            preconditionFailure("the avx512 kernels exist on x86-64 only")
            #endif
        case .avx2:
            #if arch(x86_64)
            return KernelSet(level: .avx2, vector: AVX2VectorKernels(), int8: AVX2MatrixKernels())
            #else
            preconditionFailure("the avx2 kernels exist on x86-64 only")
            #endif
        }
    }

    /// The environment variable that names the level (`auto`, the default: the fastest this CPU
    /// runs); `--kernels` sets it.
    package static let environmentVariable = "SPECULA_KERNELS"

    /// The level `SPECULA_KERNELS` names (default `auto`) on this CPU, or why it cannot be had.
    package static func chosenLevel() throws(KernelLevel.ChoiceError) -> KernelLevel {
        try KernelLevel.choose(ProcessInfo.processInfo.environment[environmentVariable] ?? "auto", on: .current)
    }

    /// The kernels of `chosenLevel()`: what a model loads with unless told otherwise. A level
    /// the CPU lacks stops the process with the reason (the command line checks it first).
    package static var chosen: KernelSet {
        do {
            return of(try chosenLevel())
        } catch {
            fatalError("\(environmentVariable): \(error)")
        }
    }
}
