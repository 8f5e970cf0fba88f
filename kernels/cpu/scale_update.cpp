// QZO's scale updates on the CPU (additive with a floor, or multiplicative): z regenerated in chunks (no buffer the size of the layer).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/z_chunks.h"
#include "kernels/error.h"
#include "kernels/scale_perturbation.h"

namespace qzo::cpu {

void scale_update(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  if (!(floor >= 0.0f)) fail("scale_update: floor must be >= 0, got " + std::to_string(floor));
  over_z_chunks(n, seed, stream, [&](int64_t begin, int64_t count, const float* z) {
    float* s = scales + begin;
    for (int64_t i = 0; i < count; ++i) s[i] = std::max(std::fma(step, z[i], s[i]), std::min(floor, s[i]));
  });
}

void scale_update_log(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step) {
  over_z_chunks(n, seed, stream, [&](int64_t begin, int64_t count, const float* z) {
    float* s = scales + begin;
    for (int64_t i = 0; i < count; ++i) s[i] = log_updated_scale(s[i], step, z[i]);
  });
}

}  // namespace qzo::cpu
