// RMSNorm backward from the saved rstd: one thread block per row for dinp (Σ_j w_j·g_j·x_j by
// block reduction, then every element), and one thread per feature for dweight, adding the
// rows in order (deterministic, no atomics). dweight may be null: a frozen norm (QLoRA).
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void rmsnorm_dinp_kernel(float* dinp, const float* dout, const float* inp, const float* weight,
                                    const float* rstd, int D, bool accumulate) {
  const int64_t row = blockIdx.x;
  const float* x = inp + row * D;
  const float* g = dout + row * D;
  float* dx = dinp + row * D;
  const float s = rstd[row];
  float dot = 0.0f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) dot += rmsnorm_dot_term(weight[i], g[i], x[i]);
  const float c = rmsnorm_backward_coefficient(block_reduce(dot, Sum{}, 0.0f), s, D);
  for (int i = threadIdx.x; i < D; i += blockDim.x) {
    const float d = rmsnorm_dinp_element(x[i], g[i], weight[i], s, c);
    dx[i] = accumulate ? dx[i] + d : d;
  }
}

__global__ void rmsnorm_dweight_kernel(float* dweight, const float* dout, const float* inp, const float* rstd,
                                       int64_t rows, int D) {
  for (int64_t i = first_thread(); i < D; i += thread_stride())
    dweight[i] = rmsnorm_dweight_feature(dweight[i], dout, inp, rstd, rows, D, int(i));
}

}  // namespace

void rmsnorm_backward(Backend& be, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int rows, int D, bool accumulate_dinp) {
  if (rows == 0 || D == 0) return;
  if (dweight) {
    rmsnorm_dweight_kernel<<<grid_for(D), kThreads, 0, stream_of(be)>>>(dweight, dout, inp, rstd, rows, D);
    cuda_check(cudaGetLastError());
  }
  rmsnorm_dinp_kernel<<<rows, kThreads, 0, stream_of(be)>>>(dinp, dout, inp, weight, rstd, D, accumulate_dinp);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
