// Backward of the fp32 linear layer on cuBLAS (column-major, reading the row-major buffers as
// their transposes, as matmul_forward does): dinp[M,K] = dout·W (beta 0, or 1 to accumulate),
// dweight[N,K] += doutᵀ·inp, and dbias[N] += the column sums of dout, one thread per column
// summing its rows in order (deterministic, the CPU's sum bit for bit).
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void bias_gradient_kernel(float* dbias, const float* dout, int64_t M, int N) {
  for (int64_t n = first_thread(); n < N; n += thread_stride()) dbias[n] += bias_gradient(dout, M, N, int(n));
}

}  // namespace

void matmul_backward(Backend& be, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp) {
  if (M == 0) return;
  const float one = 1.0f, zero = 0.0f;
  cublasHandle_t blas = blas_of(be);
  if (dinp && K > 0) {
    if (N == 0) {  // an empty sum: dinp = 0, or left as it is
      if (!accumulate_dinp) cuda_check(cudaMemsetAsync(dinp, 0, sizeof(float) * size_t(M) * K, stream_of(be)));
    } else {
      // dinpᵀ[K,M] = Wᵀ[K,N] · doutᵀ[N,M]
      cublas_check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, K, M, N, &one, weight, K, dout, N,
                               accumulate_dinp ? &one : &zero, dinp, K));
    }
  }
  if (dweight && K > 0 && N > 0)  // dweightᵀ[K,N] += inpᵀ[K,M] · dout[M,N]
    cublas_check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, K, N, M, &one, inp, K, dout, N, &one, dweight, K));
  if (dbias && N > 0) {
    bias_gradient_kernel<<<grid_for(N), kThreads, 0, stream_of(be)>>>(dbias, dout, M, N);
    cuda_check(cudaGetLastError());
  }
}

}  // namespace qzo::cuda
