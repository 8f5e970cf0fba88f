// Rotary embedding backward in place on the gradient: the rotation by the negated angle, one
// thread per (row, head, pair i) as rope_forward, the pair being elements i and i + head_dim/2.
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void rope_backward_kernel(float* dx, const int32_t* positions, const float* cos_table,
                                     const float* sin_table, int64_t rows, int heads, int half) {
  const int64_t pairs = rows * heads * half;
  for (int64_t p = first_thread(); p < pairs; p += thread_stride()) {
    const int i = int(p % half);
    const int64_t row_head = p / half;  // r · heads + h
    const int64_t table = int64_t(positions[row_head / heads]) * half + i;
    float* v = dx + row_head * 2 * half;
    rope_unrotate(v[i], v[i + half], cos_table[table], sin_table[table]);
  }
}

}  // namespace

void rope_backward(Backend& be, float* dx, const int32_t* positions, const float* cos_table, const float* sin_table,
                   int rows, int heads, int head_dim) {
  const int half = head_dim / 2;
  const int64_t pairs = int64_t(rows) * heads * half;
  if (pairs == 0) return;
  rope_backward_kernel<<<grid_for(pairs), kThreads, 0, stream_of(be)>>>(dx, positions, cos_table, sin_table, rows,
                                                                        heads, half);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
