// MeZO's in-place update w ← keep·w + step·z on fp32 values, z regenerated from
// (seed, stream): one thread per Philox counter block.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"
#include "kernels/cuda/zo_update_math.h"

namespace qzo::cuda {

namespace {

__global__ void zo_axpy_kernel(float* w, uint64_t n, PhiloxKey key, uint32_t stream, float keep, float step) {
  const int64_t blocks = int64_t(philox_block_count(0, n));
  for (int64_t b = first_thread(); b < blocks; b += thread_stride())
    philox_block_normals(key, stream, uint64_t(b), 0, n,
                         [&](uint64_t i, float z) { w[i] = zo_axpy_element(w[i], keep, step, z); });
}

}  // namespace

void zo_axpy(Backend& be, float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step) {
  if (n <= 0) return;
  zo_axpy_kernel<<<grid_for(int64_t(philox_block_count(0, uint64_t(n)))), kThreads, 0, stream_of(be)>>>(
      w, uint64_t(n), philox_key(seed), stream, keep, step);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
