/* The x86 SIMD intrinsics (AVX-512 BW/VL/VNNI), imported into Swift for the engine's integer
   dot products; only the compiler's own header, plus one wrapper for a macro Swift cannot see. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <cpuid.h>

/* `_mm_prefetch` is a macro; the engine prefetches weights a few cache lines ahead. */
static inline __attribute__((always_inline)) void cx86_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/* `_mm_pause` for spin-waits (the compute pool's idle workers). */
static inline __attribute__((always_inline)) void cx86_pause(void) {
    __builtin_ia32_pause();
}

/* `vpdpwssd` as one instruction: LLVM splits `_mm512_dpwssd_epi32` into `vpmaddwd` + `vpaddd`
   for this CPU, doubling the multiply-add work of the K-quant kernels. */
static inline __attribute__((always_inline, target("avx512f,avx512vnni"))) __m512i cx86_dpwssd(__m512i acc, __m512i a, __m512i b) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "v"(b));
    return acc;
}

/* CPUID leaf `leaf`, sub-leaf `subleaf`: 0 when the CPU has no such leaf. */
static inline int cx86_cpuid(unsigned leaf, unsigned subleaf, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    return __get_cpuid_count(leaf, subleaf, a, b, c, d);
}

/* XCR0: which register states the operating system saves (bit 2 ymm, bits 5–7 zmm). Only to be
   called when CPUID says OSXSAVE. */
static inline unsigned long long cx86_xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif
