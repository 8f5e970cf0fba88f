// LoRA's inverted dropout on the CPU: the mask is a pure function of (seed, stream, index),
// so the backward regenerates it rather than keeping it as an activation.
#include <algorithm>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/philox.h"

namespace qzo::cpu {

void lora_dropout(float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p) {
  const float keep_scale = 1.0f / (1.0f - p);
  // One Philox block gives the draws of 4 consecutive elements (dropout_keeps' words).
#pragma omp parallel for schedule(static)
  for (int64_t block = 0; block < (n + 3) / 4; ++block) {
    const PhiloxCounter draws = philox_dropout_bits4(seed, stream, uint64_t(block));
    for (int64_t i = 4 * block; i < std::min(n, 4 * block + 4); ++i)
      out[i] = philox_open_uniform(draws.w[i % 4]) >= p ? inp[i] * keep_scale : 0.0f;
  }
}

}  // namespace qzo::cpu
