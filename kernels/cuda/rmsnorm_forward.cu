// RMSNorm forward, one thread block per row: sum of squares by block reduction, then
// y = (x · rstd) · w.
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void rmsnorm_kernel(float* out, float* rstd, const float* inp, const float* weight, int D, float eps) {
  const float* x = inp + int64_t(blockIdx.x) * D;
  float* y = out + int64_t(blockIdx.x) * D;
  float sum_sq = 0.0f;
  for (int i = threadIdx.x; i < D; i += blockDim.x) sum_sq += x[i] * x[i];
  const float s = rmsnorm_rstd(block_reduce(sum_sq, Sum{}, 0.0f), D, eps);
  for (int i = threadIdx.x; i < D; i += blockDim.x) y[i] = rmsnorm_element(x[i], s, weight[i]);
  if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = s;
}

}  // namespace

void rmsnorm_forward(Backend& be, float* out, float* rstd, const float* inp, const float* weight, int rows, int D,
                     float eps) {
  if (rows == 0) return;
  rmsnorm_kernel<<<rows, kThreads, 0, stream_of(be)>>>(out, rstd, inp, weight, D, eps);
  cuda_check(cudaGetLastError());
}

}  // namespace qzo::cuda
