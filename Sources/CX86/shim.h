/* The x86 SIMD intrinsics (AVX-512 BW/VL/VNNI), imported into Swift for the engine's integer
   dot products; only the compiler's own header, plus one wrapper for a macro Swift cannot see. */
#include <immintrin.h>

/* `_mm_prefetch` is a macro; the engine prefetches weights a few cache lines ahead. */
static inline __attribute__((always_inline)) void cx86_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}
