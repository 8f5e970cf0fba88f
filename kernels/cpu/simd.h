// x86 SIMD intrinsics for the hand-vectorized hot paths (Philox, dequantization), included
// once here because GCC 12 flags the self-initialized placeholders inside its AVX-512
// headers as uninitialized (a false positive) and the warning must stay off around them.
#pragma once
#if defined(__AVX__) || defined(__AVX2__) || defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif
