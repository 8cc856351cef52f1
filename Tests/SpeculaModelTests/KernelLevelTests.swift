import SpeculaKernels
import Testing

/// Which level each CPU gets, from its features alone (no probing).
struct KernelLevelTests {
    static let nehalem: Set<String> = ["sse2", "sse4_1", "sse4_2", "popcnt"]
    static let haswell = nehalem.union(["avx", "avx2", "fma", "f16c", "bmi1", "bmi2"])
    static let sapphireRapids = haswell.union(["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_vnni", "avx_vnni"])

    @Test func eachCPURunsTheLevelsItsFeaturesAllow() {
        #expect(KernelLevel.available(on: CPUFeatures(Self.nehalem)) == [.portable])
        #expect(KernelLevel.available(on: CPUFeatures(Self.haswell)) == [.avx2, .portable])
        #expect(KernelLevel.available(on: CPUFeatures(Self.sapphireRapids)) == [.avx512, .avx2, .portable])
        #expect(KernelLevel.available(on: CPUFeatures(Self.haswell.subtracting(["fma"]))) == [.portable], "AVX2 without FMA")
    }

    @Test func autoTakesTheFastestAndALevelTheCPULacksIsRefusedWithWhatItLacks() throws {
        #expect(try KernelLevel.choose("auto", on: CPUFeatures(Self.haswell)) == .avx2)
        #expect(try KernelLevel.choose("portable", on: CPUFeatures(Self.sapphireRapids)) == .portable)
        #expect(throws: KernelLevel.ChoiceError.unsupported(.avx2, missing: ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma"], available: [.portable])) {
            try KernelLevel.choose("avx2", on: CPUFeatures(Self.nehalem))
        }
        #expect(throws: KernelLevel.ChoiceError.unknown("avx3")) { try KernelLevel.choose("avx3", on: CPUFeatures(Self.haswell)) }
    }
}
