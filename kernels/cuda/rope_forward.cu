// Rotary embedding in place (rotate_half layout): one thread per (row, head, pair i), the
// pair being elements i and i + head_dim/2 of the head.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void rope_kernel(float* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                            int64_t rows, int heads, int half) {
  const int64_t pairs = rows * heads * half;
  for (int64_t p = first_thread(); p < pairs; p += thread_stride()) {
    const int i = int(p % half);
    const int64_t row_head = p / half;  // r · heads + h
    const int64_t table = int64_t(positions[row_head / heads]) * half + i;
    float* v = x + row_head * 2 * half;
    rope_rotate(v[i], v[i + half], cos_table[table], sin_table[table]);
  }
}

}  // namespace

void rope_forward(Backend& be, float* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                  int rows, int heads, int head_dim) {
  const int half = head_dim / 2;
  const int64_t pairs = int64_t(rows) * heads * half;
  if (pairs == 0) return;
  rope_kernel<<<grid_for(pairs), kThreads, 0, stream_of(be)>>>(x, positions, cos_table, sin_table, rows, heads, half);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
