/// The engine's kernel levels, from the fastest to the one every CPU runs: which instructions
/// its numeric kernels may use. The CPU is probed once (`CPUFeatures`); `--kernels` or
/// `SPECULA_KERNELS` may force a level the CPU offers.
package enum KernelLevel: String, Sendable, CaseIterable, Comparable {
    /// AVX-512 with VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later): 16-lane integer dot products.
    case avx512
    /// AVX2 with FMA and F16C (Haswell, Zen and later: most cloud and client CPUs since 2013):
    /// 8-lane integer dot products through 16-bit pair sums.
    case avx2
    /// Swift's SIMD types only, no x86 instruction beyond the baseline: any x86-64 CPU back to
    /// SSE4.2, and NEON on aarch64. The reference the others are tested against.
    case portable

    /// The features a level needs.
    package var requiredFeatures: Set<String> {
        switch self {
        // Cascade Lake's instructions, the level's compile target, that code may contain.
        case .avx512: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_vnni", "avx2", "fma", "f16c", "bmi1", "bmi2"]
        // Haswell's, the level's compile target.
        case .avx2: ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "popcnt", "sse4_2"]
        case .portable: []
        }
    }

    /// Faster levels first.
    package static func < (a: KernelLevel, b: KernelLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Every level `cpu` can run, fastest first.
    package static func available(on cpu: CPUFeatures) -> [KernelLevel] {
        allCases.filter { $0.requiredFeatures.isSubset(of: cpu.names) }
    }

    /// Why a level could not be chosen.
    package enum ChoiceError: Error, CustomStringConvertible, Equatable {
        case unknown(String)
        case unsupported(KernelLevel, missing: [String], available: [KernelLevel])

        package var description: String {
            switch self {
            case .unknown(let name):
                "unknown kernel level '\(name)': choose auto, \(KernelLevel.allCases.map(\.rawValue).joined(separator: ", "))"
            case .unsupported(let level, let missing, let available):
                "this CPU cannot run the \(level.rawValue) kernels (it lacks \(missing.joined(separator: ", "))); "
                    + "it runs \(available.map(\.rawValue).joined(separator: ", "))"
            }
        }
    }

    /// The level named `choice` (`auto`: the fastest `cpu` runs), refusing one `cpu` lacks.
    package static func choose(_ choice: String, on cpu: CPUFeatures) throws(ChoiceError) -> KernelLevel {
        let available = available(on: cpu)
        guard choice != "auto" else { return available.first ?? .portable }
        guard let level = KernelLevel(rawValue: choice) else { throw .unknown(choice) }
        let missing = level.requiredFeatures.subtracting(cpu.names)
        guard missing.isEmpty else { throw .unsupported(level, missing: missing.sorted(), available: available) }
        return level
    }
}
