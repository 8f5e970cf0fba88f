// RMSNorm (Llama's pre-norm) forward and backward, one row of D features at a time.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int rows, int D, float eps) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* x = inp + static_cast<int64_t>(r) * D;
    float* y = out + static_cast<int64_t>(r) * D;
    float sum_sq = 0.0f;
#pragma omp simd reduction(+ : sum_sq)
    for (int i = 0; i < D; ++i) sum_sq += x[i] * x[i];
    const float s = 1.0f / std::sqrt(sum_sq / static_cast<float>(D) + eps);
#pragma omp simd
    for (int i = 0; i < D; ++i) y[i] = x[i] * s * weight[i];
    if (rstd) rstd[r] = s;
  }
}

void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int rows, int D, bool accumulate_dinp) {
  // dx_i = s·w_i·g_i − x_i·s³/D · Σ_j w_j·g_j·x_j ;  dw_i += Σ_rows g_i·x_i·s
  for (int r = 0; dweight && r < rows; ++r) {  // a frozen norm (QLoRA) takes no gradient
    const float* x = inp + static_cast<int64_t>(r) * D;
    const float* g = dout + static_cast<int64_t>(r) * D;
    const float s = rstd[r];
    for (int i = 0; i < D; ++i) dweight[i] += g[i] * x[i] * s;
  }
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* x = inp + static_cast<int64_t>(r) * D;
    const float* g = dout + static_cast<int64_t>(r) * D;
    float* dx = dinp + static_cast<int64_t>(r) * D;
    const float s = rstd[r];
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int i = 0; i < D; ++i) dot += weight[i] * g[i] * x[i];
    const float c = dot * s * s * s / static_cast<float>(D);
    if (accumulate_dinp) {
#pragma omp simd
      for (int i = 0; i < D; ++i) dx[i] += s * weight[i] * g[i] - x[i] * c;
    } else {
#pragma omp simd
      for (int i = 0; i < D; ++i) dx[i] = s * weight[i] * g[i] - x[i] * c;
    }
  }
}

}  // namespace qzo::cpu
