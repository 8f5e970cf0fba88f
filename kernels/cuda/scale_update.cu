// QZO's scale update S_j ← max(S_j + step·z_j, min(floor, S_j)) in place, z regenerated from
// (seed, stream): one thread per Philox counter block.
#include "kernels/error.h"
#include <string>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"
#include "kernels/cuda/zo_update_math.h"

namespace qzo::cuda {

namespace {

__global__ void scale_update_kernel(float* scales, uint64_t n, PhiloxKey key, uint32_t stream, float step,
                                    float floor) {
  const int64_t blocks = int64_t(philox_block_count(0, n));
  for (int64_t b = first_thread(); b < blocks; b += thread_stride())
    philox_block_normals(key, stream, uint64_t(b), 0, n,
                         [&](uint64_t j, float z) { scales[j] = updated_scale(scales[j], step, z, floor); });
}

}  // namespace

void scale_update(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor) {
  if (!(floor >= 0.0f)) fail("scale_update: floor must be >= 0, got " + std::to_string(floor));
  if (n <= 0) return;
  scale_update_kernel<<<grid_for(int64_t(philox_block_count(0, uint64_t(n)))), kThreads, 0, stream_of(be)>>>(
      scales, uint64_t(n), philox_key(seed), stream, step, floor);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
