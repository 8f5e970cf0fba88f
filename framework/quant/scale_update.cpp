// QZO's scale update: z regenerated in chunks (no buffer the size of the layer).
#include "framework/quant/scale_update.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "framework/core/error.h"
#include "framework/core/philox.h"

namespace qzo {

void apply_scale_update(float* scales, size_t n, uint64_t seed, uint32_t stream, float step,
                        float floor) {
  if (!(floor >= 0.0f))
    fail("apply_scale_update: floor must be >= 0, got " + std::to_string(floor));
  constexpr size_t kChunk = 4096;
  const int64_t chunks = int64_t((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    float z[kChunk];
    const size_t begin = size_t(c) * kChunk, count = std::min(kChunk, n - begin);
    philox_normal_fill(seed, stream, begin, count, z);
    for (size_t i = 0; i < count; ++i) {
      const float s = scales[begin + i];
      scales[begin + i] = std::max(std::fma(step, z[i], s), std::min(floor, s));
    }
  }
}

void apply_scale_update(std::vector<float>& scales, uint64_t seed, uint32_t stream, float step,
                        float floor) {
  apply_scale_update(scales.data(), scales.size(), seed, stream, step, floor);
}

}  // namespace qzo
