// SwiGLU gating of the MLP, elementwise: out = silu(gate) · up.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void swiglu_kernel(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) out[i] = swiglu_element(gate[i], up[i]);
}

}  // namespace

void swiglu_forward(Backend& be, float* out, const float* gate, const float* up, int64_t n) {
  if (n <= 0) return;
  swiglu_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(out, gate, up, n);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
