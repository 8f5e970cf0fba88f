// fp32 linear layer on cuBLAS: out[M,N] = inp[M,K] · W[N,K]^T (+ bias). cuBLAS is column-
// major, so it computes out^T = W · inp^T, which reads the row-major buffers as they are.
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void add_bias_kernel(float* out, const float* bias, int64_t M, int N) {
  for (int64_t i = first_thread(); i < M * N; i += thread_stride()) out[i] += bias[i % N];
}

}  // namespace

void add_bias(Backend& be, float* out, const float* bias, int M, int N) {
  if (!bias || M == 0 || N == 0) return;
  add_bias_kernel<<<grid_for(int64_t(M) * N), kThreads, 0, stream_of(be)>>>(out, bias, M, N);
  cuda_check(cudaGetLastError());
}

void matmul_forward(Backend& be, float* out, const float* inp, const float* weight, const float* bias, int M, int K,
                    int N) {
  if (M == 0 || N == 0) return;
  const float one = 1.0f, zero = 0.0f;
  cublas_check(cublasSgemm(blas_of(be), CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, weight, K, inp, K, &zero, out, N));
  add_bias(be, out, bias, M, N);
}

}  // namespace qzo::cuda
