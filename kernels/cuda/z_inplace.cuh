// The shape every in-place ZO update shares on CUDA: x[i] = update(x[i], z_i) for i < n, z
// regenerated from (seed, stream), one thread per Philox counter block (z drawn once).
#pragma once
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"

namespace qzo::cuda {

template <typename Update>
__global__ void z_inplace_kernel(float* x, uint64_t n, PhiloxKey key, uint32_t stream, Update update) {
  const int64_t blocks = int64_t(philox_block_count(0, n));
  for (int64_t b = first_thread(); b < blocks; b += thread_stride())
    philox_block_normals(key, stream, uint64_t(b), 0, n, [&](uint64_t i, float z) { x[i] = update(x[i], z); });
}

// `update` is a functor with a __device__ operator()(float x, float z) -> float.
template <typename Update>
void launch_z_inplace(Backend& be, float* x, int64_t n, uint64_t seed, uint32_t stream, Update update) {
  if (n <= 0) return;
  z_inplace_kernel<<<grid_for(int64_t(philox_block_count(0, uint64_t(n)))), kThreads, 0, stream_of(be)>>>(
      x, uint64_t(n), philox_key(seed), stream, update);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
