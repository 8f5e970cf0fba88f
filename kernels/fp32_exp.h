// exp(x) in fp32 from IEEE-exact operations only (products rounded on their own, explicit
// fmaf, nearbyintf, an exact power of two), so that every backend and every CPU computes the
// same bits:
// libm's expf (and CUDA's, within 2 ulp) would not. The multiplicative scale perturbation
// S·exp(εz) and its update run through it on every rank and in replay.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/hd.h"
#include "kernels/rounding.h"

namespace qzo {

// 2^k for a normal exponent k in [-126, 127], built from its bits (exact, and unlike a call
// to ldexpf it lets a loop of them vectorize).
QZO_HD inline float pow2_fp32(int k) {
  const uint32_t bits = uint32_t(k + 127) << 23;
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// x is clamped to [-87, 88] (a normal, finite result); relative error below 2 ulp (tested
// against the double exp). Cody–Waite reduction x = k·ln2 + r with |r| ≤ ln2/2, then the
// Taylor series of exp(r) to r^7 (truncation below 5e-9 relative), then the exact scaling 2^k.
QZO_HD inline float exp_fp32(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;        // 355/512: k·kLn2Hi is exact for |k| < 2^15
  constexpr float kLn2Lo = -2.12194440e-4f;     // ln 2 − kLn2Hi
  x = x > 88.0f ? 88.0f : (x < -87.0f ? -87.0f : x);
  const float k = nearbyintf(mul_rn(x, kLog2e));
  const float r = fmaf(-k, kLn2Lo, fmaf(-k, kLn2Hi, x));
  float p = fmaf(r, 1.0f / 5040.0f, 1.0f / 720.0f);
  p = fmaf(r, p, 1.0f / 120.0f);
  p = fmaf(r, p, 1.0f / 24.0f);
  p = fmaf(r, p, 1.0f / 6.0f);
  p = fmaf(r, p, 0.5f);
  p = fmaf(r, p, 1.0f);
  p = fmaf(r, p, 1.0f);
  return p * pow2_fp32(int(k));  // exact: p is in [0.7, 1.42] and the result stays normal
}

}  // namespace qzo
