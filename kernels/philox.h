// Philox-4x32-10 (Salmon et al., SC'11), the counter-based generator behind every ZO
// perturbation, and the Gaussian z(seed, stream, index) built on it: z is a pure function of
// its three arguments, so it is recomputed where needed and never stored.
//
// The element math is written with explicit fmaf and no other multiply-add, so that the
// compiler cannot fuse differently in the scalar and the vectorized paths (or on a GPU):
// philox_normal and philox_normal_fill agree bit for bit on any build.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/hd.h"

namespace qzo {

// Multipliers and Weyl key increments of Philox-4x32 (Random123's defaults).
constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;
constexpr int kPhiloxRounds = 10;

struct PhiloxCounter {
  uint32_t w[4];
};
struct PhiloxKey {
  uint32_t w[2];
};

QZO_HD inline PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  for (int round = 0; round < kPhiloxRounds; ++round) {
    const uint64_t p0 = uint64_t(kPhiloxM0) * c.w[0];
    const uint64_t p1 = uint64_t(kPhiloxM1) * c.w[2];
    const PhiloxCounter next = {{uint32_t(p1 >> 32) ^ c.w[1] ^ k.w[0], uint32_t(p1),
                                 uint32_t(p0 >> 32) ^ c.w[3] ^ k.w[1], uint32_t(p0)}};
    c = next;
    k.w[0] += kPhiloxW0;
    k.w[1] += kPhiloxW1;
  }
  return c;
}

// --- The Gaussian convention (fixed: changing it changes every run's z) -------------------
//   key     = (seed low 32 bits, seed high 32 bits)
//   counter = (block low 32, block high 32, stream, 0) with block = index / 4
//   4 words -> uniforms in (0,1) -> Box-Muller on (w0,w1) and (w2,w3) -> 4 normals;
//   element `index` is lane index % 4.

QZO_HD inline PhiloxKey philox_key(uint64_t seed) {
  return {{uint32_t(seed), uint32_t(seed >> 32)}};
}
QZO_HD inline PhiloxCounter philox_normal_counter(uint32_t stream, uint64_t block) {
  return {{uint32_t(block), uint32_t(block >> 32), stream, 0u}};
}

// --- Rounding bits (stochastic rounding of updated bf16/fp16 weights, kernels/dtype.h) ------
//   key and stream as for z, counter word 3 = 1 (every z counter has 0 there), so the bits
//   never reuse a block of z and are independent of it; element `index` takes word index % 4
//   of block index / 4. Like z, a pure function of (seed, stream, index): every rank and
//   every rerun rounds the same way.
QZO_HD inline PhiloxCounter philox_rounding_counter(uint32_t stream, uint64_t block) {
  return {{uint32_t(block), uint32_t(block >> 32), stream, 1u}};
}
QZO_HD inline PhiloxCounter philox_rounding_bits4(uint64_t seed, uint32_t stream, uint64_t block) {
  return philox4x32_10(philox_rounding_counter(stream, block), philox_key(seed));
}
QZO_HD inline uint32_t philox_rounding_bits(uint64_t seed, uint32_t stream, uint64_t index) {
  return philox_rounding_bits4(seed, stream, index / 4).w[index % 4];
}

// LoRA dropout's keep/drop draws: counter word 3 = 2, so they share no block with z or with
// the rounding bits; element `index` of the adapter input of parameter `stream` at `seed`.
QZO_HD inline PhiloxCounter philox_dropout_bits4(uint64_t seed, uint32_t stream, uint64_t block) {
  const PhiloxCounter c = {{uint32_t(block), uint32_t(block >> 32), stream, 2u}};
  return philox4x32_10(c, philox_key(seed));
}
QZO_HD inline uint32_t philox_dropout_bits(uint64_t seed, uint32_t stream, uint64_t index) {
  return philox_dropout_bits4(seed, stream, index / 4).w[index % 4];
}

// (2k+1) / 2^24 with k the top 23 bits: exact in float, symmetric, never 0 or 1.
QZO_HD inline float philox_open_uniform(uint32_t bits) {
  return float(int32_t(((bits >> 9) << 1) | 1u)) * 5.9604644775390625e-08f;  // 2^-24
}

// Inverted dropout keeps element `index` with probability 1 − p.
QZO_HD inline bool dropout_keeps(uint64_t seed, uint32_t stream, uint64_t index, float p) {
  return philox_open_uniform(philox_dropout_bits(seed, stream, index)) >= p;
}

QZO_HD inline uint32_t philox_float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
QZO_HD inline float philox_bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ln(u) for a normal float u > 0: u = m 2^e with m in [sqrt(1/2), sqrt(2)), and
// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, by its series to s^9 (truncation < 3e-9).
QZO_HD inline float philox_log(float u) {
  const uint32_t bits = philox_float_bits(u);
  int32_t e = int32_t(bits >> 23) - 127;
  uint32_t mbits = (bits & 0x007FFFFFu) | 0x3F800000u;
  const int32_t above_sqrt2 = mbits > 0x3FB504F3u ? 1 : 0;
  mbits -= uint32_t(above_sqrt2) << 23;
  e += above_sqrt2;
  const float m = philox_bits_float(mbits);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float series =
      fmaf(s2, fmaf(s2, fmaf(s2, 1.0f / 9.0f, 1.0f / 7.0f), 1.0f / 5.0f), 1.0f / 3.0f);
  const float two_s = 2.0f * s;
  const float ln_m = fmaf(two_s, s2 * series, two_s);
  const float ef = float(e);
  // ln 2 split so that ef * kLn2Hi is exact for |e| < 2^8.
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.42860676533018923e-06f;
  return fmaf(ef, kLn2Hi, fmaf(ef, kLn2Lo, ln_m));
}

// cos(2 pi t) and sin(2 pi t) for t in [0, 1]: reduce to the nearest quarter turn (exact for
// the uniforms above), then Taylor polynomials on |x| <= 1/8 turn (truncation < 2e-9).
QZO_HD inline void philox_cos_sin_turns(float t, float* cos_out, float* sin_out) {
  const int32_t quarter = int32_t(4.0f * t + 0.5f);
  const float x = t - float(quarter) * 0.25f;
  const float x2 = x * x;
  constexpr double kTau = 6.283185307179586476925;
  constexpr float S1 = float(kTau);
  constexpr float S3 = float(-kTau * kTau * kTau / 6.0);
  constexpr float S5 = float(kTau * kTau * kTau * kTau * kTau / 120.0);
  constexpr float S7 = float(-kTau * kTau * kTau * kTau * kTau * kTau * kTau / 5040.0);
  constexpr float S9 = float(kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau / 362880.0);
  constexpr float C2 = float(-kTau * kTau / 2.0);
  constexpr float C4 = float(kTau * kTau * kTau * kTau / 24.0);
  constexpr float C6 = float(-kTau * kTau * kTau * kTau * kTau * kTau / 720.0);
  constexpr float C8 = float(kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau / 40320.0);
  constexpr float C10 =
      float(-kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau * kTau / 3628800.0);
  const float sin_poly = fmaf(x2, fmaf(x2, fmaf(x2, fmaf(x2, S9, S7), S5), S3), S1);
  const float s = x * sin_poly;
  const float c = fmaf(x2, fmaf(x2, fmaf(x2, fmaf(x2, fmaf(x2, C10, C8), C6), C4), C2), 1.0f);
  // Rotate by quarter * 90 degrees.
  const int32_t q = quarter & 3;
  const bool swap = (q & 1) != 0;
  const float cos_r = swap ? s : c;
  const float sin_r = swap ? c : s;
  *cos_out = (q == 1 || q == 2) ? -cos_r : cos_r;
  *sin_out = (q >= 2) ? -sin_r : sin_r;
}

// Box-Muller's squared radius -2 ln u (> 0 for every u the uniform map yields).
QZO_HD inline float philox_radius_squared(uint32_t radius_bits) {
  return -2.0f * philox_log(philox_open_uniform(radius_bits));
}

// Box-Muller: radius from `radius_bits`, angle from `angle_bits`; two independent normals.
QZO_HD inline void philox_box_muller(uint32_t radius_bits, uint32_t angle_bits,
                                              float* z0, float* z1) {
  const float r = sqrtf(philox_radius_squared(radius_bits));
  float c, s;
  philox_cos_sin_turns(philox_open_uniform(angle_bits), &c, &s);
  *z0 = r * c;
  *z1 = r * s;
}

// The four normals of one counter block: elements 4*block .. 4*block+3 of (seed, stream).
QZO_HD inline void philox_normal4(PhiloxKey key, uint32_t stream, uint64_t block,
                                           float out[4]) {
  const PhiloxCounter x = philox4x32_10(philox_normal_counter(stream, block), key);
  philox_box_muller(x.w[0], x.w[1], &out[0], &out[1]);
  philox_box_muller(x.w[2], x.w[3], &out[2], &out[3]);
}

// z(seed, stream, index) ~ N(0, 1).
float philox_normal(uint64_t seed, uint32_t stream, uint64_t index);

// out[i] = philox_normal(seed, stream, first_index + i) bit for bit, vectorized; runs on
// OpenMP threads for large n when called outside a parallel region.
void philox_normal_fill(uint64_t seed, uint32_t stream, uint64_t first_index, size_t n,
                        float* out);

}  // namespace qzo
