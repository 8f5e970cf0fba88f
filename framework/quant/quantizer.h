// Group quantizers: one group of consecutive weights of a row -> k-bit codes, one fp32 scale
// and (for scalar quantizers) an integer zero point, so that the group dequantizes as
//   RTN: w = scale * (code - zero_point)        NF4: w = scale * kNf4Codebook[code]
#pragma once
#include <cstdint>

#include "kernels/nf4.h"

namespace qzo {

// Smallest scale a quantizer produces (all-zero groups) and the default floor of the QZO
// scale update: keeps every scale strictly positive.
constexpr float kScaleFloor = 1e-8f;


struct GroupQuant {
  float scale = 0;
  uint8_t zero_point = 0;  // 0 for nf4
};

// Round-to-nearest over w[0..n): asymmetric ranges are widened to include 0 (so that
// the zero point is an in-range integer and 0 is exact); symmetric uses absmax and
// zero_point = 2^(bits-1). codes[i] in [0, 2^bits).
GroupQuant rtn_quantize_group(const float* w, int n, int bits, bool symmetric, uint8_t* codes);

// NF4 over w[0..n): scale = absmax, code = nearest codebook entry to w / absmax.
GroupQuant nf4_quantize_group(const float* w, int n, uint8_t* codes);

// Nearest codebook index to x (ties to the lower index).
uint8_t nf4_nearest(float x);

}  // namespace qzo
