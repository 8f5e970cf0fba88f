// QZO's scale update on the CPU: z regenerated in chunks (no buffer the size of the layer).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/z_chunks.h"
#include "kernels/error.h"

namespace qzo::cpu {

void scale_update(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  if (!(floor >= 0.0f)) fail("scale_update: floor must be >= 0, got " + std::to_string(floor));
  over_z_chunks(n, seed, stream, [&](int64_t begin, int64_t count, const float* z) {
    float* s = scales + begin;
    for (int64_t i = 0; i < count; ++i) s[i] = std::max(std::fma(step, z[i], s[i]), std::min(floor, s[i]));
  });
}

}  // namespace qzo::cpu
