// A product rounded to fp32 before it meets an add: nvcc (by default) and g++ -march=native
// (-ffp-contract=fast) both fuse `s + e * z` into one FMA, which rounds once instead of twice
// and so changes bits. The CPU reference rounds the perturbation ε·z first; so does this.
#pragma once
#include "kernels/hd.h"

namespace qzo {

QZO_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);  // never contracted into an FMA
#else
  volatile float product = a * b;  // a volatile load cannot be fused into the caller's add
  return product;
#endif
}

}  // namespace qzo
