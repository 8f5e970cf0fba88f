// z(seed, stream, first_index + i) into out[i]: one thread per Philox counter block, the
// element math of kernels/philox.h, so the bits equal the CPU's.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"

namespace qzo::cuda {

namespace {

__global__ void philox_normal_fill_kernel(float* out, PhiloxKey key, uint32_t stream, uint64_t begin, uint64_t end) {
  const uint64_t first = first_philox_block(begin);
  const int64_t blocks = int64_t(philox_block_count(begin, end));
  for (int64_t b = first_thread(); b < blocks; b += thread_stride())
    philox_block_normals(key, stream, first + uint64_t(b), begin, end,
                         [&](uint64_t i, float z) { out[i - begin] = z; });
}

}  // namespace

void philox_normal_fill(Backend& be, float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n) {
  if (n <= 0) return;
  const uint64_t end = first_index + uint64_t(n);
  philox_normal_fill_kernel<<<grid_for(int64_t(philox_block_count(first_index, end))), kThreads, 0, stream_of(be)>>>(
      out, philox_key(seed), stream, first_index, end);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
