// The residual stream's x += y, and the LoRA output's x += αy and x *= α, elementwise.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void residual_add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) x[i] += y[i];
}

__global__ void scaled_add_kernel(float* x, const float* y, int64_t n, float alpha) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) x[i] += alpha * y[i];
}

__global__ void scale_kernel(float* x, int64_t n, float alpha) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) x[i] *= alpha;
}

}  // namespace

void scaled_add(Backend& be, float* x, const float* y, int64_t n, float alpha) {
  if (n <= 0) return;
  scaled_add_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(x, y, n, alpha);
  cuda_check(cudaGetLastError());
}

void scale(Backend& be, float* x, int64_t n, float alpha) {
  if (n <= 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(x, n, alpha);
  cuda_check(cudaGetLastError());
}

void residual_add(Backend& be, float* x, const float* y, int64_t n) {
  if (n <= 0) return;
  residual_add_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(x, y, n);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
