// SwiGLU backward, elementwise: dup = dout·silu(gate), dgate = dout·up·silu'(gate).
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void swiglu_backward_kernel(float* dgate, float* dup, const float* dout, const float* gate,
                                       const float* up, int64_t n) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) {
    const SwigluGrad d = swiglu_backward_element(gate[i], up[i], dout[i]);
    dgate[i] = d.dgate;
    dup[i] = d.dup;
  }
}

}  // namespace

void swiglu_backward(Backend& be, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n) {
  if (n <= 0) return;
  swiglu_backward_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(dgate, dup, dout, gate, up, n);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
