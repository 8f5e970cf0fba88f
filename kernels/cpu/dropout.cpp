// LoRA's inverted dropout on the CPU: the mask is a pure function of (seed, stream, index),
// so the backward regenerates it rather than keeping it as an activation.
#include "kernels/cpu/cpu_ops.h"
#include "kernels/philox.h"

namespace qzo::cpu {

void lora_dropout(float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p) {
  const float keep_scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i)
    out[i] = dropout_keeps(seed, stream, uint64_t(i), p) ? inp[i] * keep_scale : 0.0f;
}

}  // namespace qzo::cpu
