/* The x86 SIMD intrinsics (AVX-512 BW/VL/VNNI), imported into Swift for the engine's integer
   dot products; only the compiler's own header, plus one wrapper for a macro Swift cannot see. */
#include <immintrin.h>

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
