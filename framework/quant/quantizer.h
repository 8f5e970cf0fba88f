// Group quantizers: one group of consecutive weights of a row -> k-bit codes, one fp32 scale
// and (for scalar quantizers) an integer zero point, so that the group dequantizes as
//   RTN: w = scale * (code - zero_point)        NF4: w = scale * kNf4Codebook[code]
#pragma once
#include <cstdint>

namespace qzo {

// Smallest scale a quantizer produces (all-zero groups) and the default floor of the QZO
// scale update: keeps every scale strictly positive.
constexpr float kScaleFloor = 1e-8f;

// QLoRA's 4-bit NormalFloat levels (Dettmers et al. 2023), ascending; index 7 is exactly 0.
constexpr float kNf4Codebook[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

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
