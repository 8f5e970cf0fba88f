// The residual stream's x += y, elementwise.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void residual_add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) x[i] += y[i];
}

}  // namespace

void residual_add(Backend& be, float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  residual_add_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(x, y, n);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
