// QLoRA's double quantization of the NF4 absmax, in bitsandbytes' layout: the absmax of every
// 64-weight block, less their mean, are quantized to 8 bits with the signed dynamic map in
// blocks of 256. The map and the decoding formula are shared by the quantizer, the CPU op and
// the CUDA kernel (the map is built at compile time, so host and device read one table).
#pragma once
#include <cstdint>
#include <string>

#include "kernels/rounding.h"
#include "kernels/error.h"
#include "kernels/hd.h"
#include "kernels/weight_operand.h"

namespace qzo {

// Absmax codes per second-level block (bitsandbytes' nested blocksize).
constexpr int kDoubleQuantBlock = 256;

struct DynamicMap {
  float value[256];
};

// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), from the
// definition (Dettmers 2015, "8-bit approximations"): for decade i = 0..6 (scale 10^(i-6)),
// the 2^i midpoints of [0.1, 1] cut into 2^i equal steps, with both signs, plus 0 and 1:
// 2·127 + 2 = 256 values, ascending (index 0 is -0.99296875, 127 is 0, 255 is 1). Each is the
// fp32 rounding of the exact value; bitsandbytes evaluates the same formula in torch fp32, so
// its table can differ from this one by an ulp in a few entries.
constexpr DynamicMap signed_dynamic_map() {
  constexpr double decade[7] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
  DynamicMap map{};
  int positive = 128;  // positives ascend from index 128: decade by decade, midpoint by midpoint
  for (int i = 0; i < 7; ++i) {
    const int steps = 1 << i;
    for (int k = 0; k < steps; ++k, ++positive) {
      const float v = float(decade[i] * (0.1 + (k + 0.5) * (0.9 / steps)));
      map.value[positive] = v;
      map.value[254 - positive] = -v;  // the negatives mirror them below index 127
    }
  }
  map.value[127] = 0.0f;
  map.value[255] = 1.0f;
  return map;
}

constexpr DynamicMap kSignedDynamicMap = signed_dynamic_map();

// absmax_j = map[q_j]·absmax2[j / 256] + offset, the product rounded before the sum (as
// bitsandbytes' dequantize_blockwise followed by `absmax += offset`), on every backend.
QZO_HD inline float double_quant_absmax(float map_value, float absmax2, float offset) {
  return mul_rn(map_value, absmax2) + offset;
}

// QZO perturbs and trains fp32 scales; a double-quantized view (a frozen QLoRA base) has none.
inline void refuse_perturbed_double_quant(const QuantizedWeightView& w, bool perturbed, const char* op) {
  if (perturbed && w.double_quantized())
    fail(std::string(op) +
         ": a double-quantized NF4 weight cannot be perturbed (QZO trains fp32 scales; double "
         "quantization is for a frozen base)");
}

}  // namespace qzo
