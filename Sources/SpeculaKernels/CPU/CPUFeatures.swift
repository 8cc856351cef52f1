#if arch(x86_64)
internal import CX86
#endif

/// What this CPU's vector units can run, probed once (CPUID and the operating system's saved
/// register state on x86-64; nothing to probe elsewhere): the facts `KernelLevel` chooses from.
/// Built from a list of features for tests and for `--version` on any machine.
package struct CPUFeatures: Sendable, Equatable {
    /// Features by the names Linux shows in /proc/cpuinfo's flags (`avx2`, `avx512_vnni`, …).
    package let names: Set<String>

    package init(_ names: Set<String>) { self.names = names }

    package func has(_ feature: String) -> Bool { names.contains(feature) }

    /// This machine's CPU, probed once.
    package static let current = CPUFeatures(probe())

    private static func probe() -> Set<String> {
        #if arch(x86_64)
        var names: Set<String> = ["sse2"]
        var (a, b, c, d) = (UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        guard cx86_cpuid(1, 0, &a, &b, &c, &d) != 0 else { return names }
        let leaf1c = c
        if leaf1c & (1 << 19) != 0 { names.insert("sse4_1") }
        if leaf1c & (1 << 20) != 0 { names.insert("sse4_2") }
        if leaf1c & (1 << 23) != 0 { names.insert("popcnt") }
        // The operating system must save the wide registers, not just the CPU have them.
        let xcr0 = leaf1c & (1 << 27) != 0 ? cx86_xcr0() : 0
        let ymm = xcr0 & 0x6 == 0x6, zmm = xcr0 & 0xE6 == 0xE6
        if ymm, leaf1c & (1 << 28) != 0 { names.insert("avx") }
        if ymm, leaf1c & (1 << 12) != 0 { names.insert("fma") }
        if ymm, leaf1c & (1 << 29) != 0 { names.insert("f16c") }
        guard cx86_cpuid(7, 0, &a, &b, &c, &d) != 0 else { return names }
        let (leaf7b, leaf7c) = (b, c)
        if leaf7b & (1 << 3) != 0 { names.insert("bmi1") }
        if leaf7b & (1 << 8) != 0 { names.insert("bmi2") }
        if ymm, leaf7b & (1 << 5) != 0 { names.insert("avx2") }
        if zmm {
            for (bit, name) in [(16, "avx512f"), (17, "avx512dq"), (28, "avx512cd"), (30, "avx512bw"), (31, "avx512vl")]
            where leaf7b & (1 << UInt32(bit)) != 0 { names.insert(name) }
            for (bit, name) in [(1, "avx512vbmi"), (6, "avx512_vbmi2"), (11, "avx512_vnni"), (12, "avx512_bitalg"), (14, "avx512_vpopcntdq")]
            where leaf7c & (1 << UInt32(bit)) != 0 { names.insert(name) }
        }
        if ymm, cx86_cpuid(7, 1, &a, &b, &c, &d) != 0, a & (1 << 4) != 0 { names.insert("avx_vnni") }
        return names
        #elseif arch(arm64)
        return ["neon"]
        #else
        return []
        #endif
    }
}
