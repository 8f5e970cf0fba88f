// Per-element math of MeZO's perturbed dense read (kernels/cuda/dense_read.cu) and of the
// fp32 -> bf16 stores the linear layer's operands go through; shared with the host test.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/hd.h"
#include "kernels/philox.h"
#include "kernels/weight_operand.h"

namespace qzo {

// Element i of stored values as fp32 (the dtypes a weight is stored in: F32, BF16, F16).
QZO_HD inline float load_weight_f32(DType dtype, const void* values, int64_t i) {
  switch (dtype) {
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(values)[i]);
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(values)[i]);
    default: return static_cast<const float*>(values)[i];  // F32; the launcher rejects others
  }
}

// w + ε·z rounded once, as an explicit FMA: a plain `w + e * z` would round once or twice
// depending on whether the compiler contracts it.
QZO_HD inline float perturbed_weight(float w, float signed_eps, float z) { return fmaf(signed_eps, z, w); }

// Element i of an embedding lookup through a dense table: row tokens[i / D], column i % D,
// z drawn at that element's index in the table (lane of its Philox block).
QZO_HD inline float embedding_element(const int32_t* tokens, DenseWeightView w, const ZoPerturbation* p, int D,
                                      int64_t i) {
  const int64_t index = int64_t(tokens[i / D]) * D + i % D;
  const float v = load_weight_f32(w.dtype, w.values, index);
  if (!p) return v;
  float z[4];
  philox_normal4(philox_key(p->seed), p->stream, uint64_t(index) / 4, z);
  return perturbed_weight(v, p->signed_eps, z[index % 4]);
}

// The two element types the materialized operands are written as.
QZO_HD inline void store_element(float* out, int64_t i, float v) { out[i] = v; }
QZO_HD inline void store_element(uint16_t* bf16_out, int64_t i, float v) { bf16_out[i] = f32_to_bf16(v); }

}  // namespace qzo
