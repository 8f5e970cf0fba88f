// Group quantizers: one group of consecutive weights of a row -> k-bit codes, one fp32 scale
// and (for scalar quantizers) an integer zero point, so that the group dequantizes as
//   RTN: w = scale * (code - zero_point)        NF4: w = scale * kNf4Codebook[code]
// and QLoRA's double quantization of the NF4 scales (the absmax) to 8 bits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

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

// The code of one weight on a group's grid: nearbyint(x / scale) + zero clamped to
// [0, 2^bits) (ties to even, as torch.round and the GPTQ reference quantizer do).
uint8_t rtn_code(float x, float scale, float zero_point, int bits);

// NF4 over w[0..n): scale = absmax, code = nearest codebook entry to w / absmax.
GroupQuant nf4_quantize_group(const float* w, int n, uint8_t* codes);

// Nearest codebook index to x (ties to the lower index).
uint8_t nf4_nearest(float x);

// Double quantization of a layer's NF4 absmax (QLoRA §3; bitsandbytes' compress_statistics),
// absmax j decoding as kSignedDynamicMap[codes[j]] · absmax2[j / 256] + offset.
struct DoubleQuantizedAbsmax {
  std::vector<uint8_t> codes;  // one per absmax: an index into kSignedDynamicMap
  std::vector<float> absmax2;  // per block of kDoubleQuantBlock codes: max |absmax − offset|
  float offset = 0;            // the mean absmax (summed in double, rounded once to fp32)
  float absmax(size_t j) const;  // decoded, as every backend decodes it
};

// offset = mean(absmax); block b's absmax2 = max(max |absmax_j − offset|, kScaleFloor);
// codes[j] = the map entry nearest to (absmax_j − offset) / absmax2, all in fp32.
DoubleQuantizedAbsmax double_quantize_absmax(const std::vector<float>& absmax);

// Nearest kSignedDynamicMap index to x in [-1, 1] (ties to the lower index).
uint8_t dynamic_map_nearest(float x);

}  // namespace qzo
