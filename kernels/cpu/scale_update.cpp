// QZO's scale update on the CPU: z regenerated in chunks (no buffer the size of the layer).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/error.h"
#include "kernels/philox.h"

namespace qzo::cpu {

void scale_update(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  if (!(floor >= 0.0f)) fail("scale_update: floor must be >= 0, got " + std::to_string(floor));
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    float z[kChunk];
    const int64_t begin = c * kChunk, count = std::min(kChunk, n - begin);
    qzo::philox_normal_fill(seed, stream, uint64_t(begin), size_t(count), z);
    for (int64_t i = 0; i < count; ++i) {
      const float s = scales[begin + i];
      scales[begin + i] = std::max(std::fma(step, z[i], s), std::min(floor, s));
    }
  }
}

}  // namespace qzo::cpu
