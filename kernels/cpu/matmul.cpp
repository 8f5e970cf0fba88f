// Linear layers on OpenBLAS: y = x·W^T + b and its backward (llm.c's matmul, fp32).
#if defined(QZO_HAVE_OPENBLAS)
#include <cblas.h>
#else
#include "kernels/cpu/sgemm_fallback.h"  // plain OpenMP sgemm with cblas_sgemm's row-major subset
#endif

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M, int K, int N) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, inp, K, weight, K, 0.0f, out, N);
  if (!bias) return;
#pragma omp parallel for schedule(static)
  for (int m = 0; m < M; ++m) {
    float* row = out + static_cast<int64_t>(m) * N;
#pragma omp simd
    for (int n = 0; n < N; ++n) row[n] += bias[n];
  }
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp) {
  if (dinp)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, K, N, 1.0f, dout, N, weight, K,
                accumulate_dinp ? 1.0f : 0.0f, dinp, K);
  if (dweight)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, M, 1.0f, dout, N, inp, K, 1.0f, dweight, K);
  if (dbias) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; ++n) {
      float sum = 0.0f;
      for (int m = 0; m < M; ++m) sum += dout[static_cast<int64_t>(m) * N + n];
      dbias[n] += sum;
    }
  }
}

}  // namespace qzo::cpu
