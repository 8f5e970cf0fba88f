// QZO's scale updates S_j ← max(S_j + step·z_j, min(floor, S_j)) or S_j·exp(step·z_j) in place, z regenerated from
// (seed, stream): one thread per Philox counter block.
#include "kernels/error.h"
#include <string>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/z_inplace.cuh"
#include "kernels/cuda/zo_update_math.h"
#include "kernels/scale_perturbation.h"

namespace qzo::cuda {

namespace {

struct ScaleStep {
  float step, floor;
  __device__ float operator()(float s, float z) const { return updated_scale(s, step, z, floor); }
};

struct LogScaleStep {
  float step;
  __device__ float operator()(float s, float z) const { return log_updated_scale(s, step, z); }
};

}  // namespace

void scale_update(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  if (!(floor >= 0.0f)) fail("scale_update: floor must be >= 0, got " + std::to_string(floor));
  launch_z_inplace(be, scales, n, seed, stream, ScaleStep{step, floor});
}

void scale_update_log(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step) {
  launch_z_inplace(be, scales, n, seed, stream, LogScaleStep{step});
}

}  // namespace qzo::cuda
