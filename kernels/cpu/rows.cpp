// Row movement and the residual add on the CPU: gathering the labelled rows for the LM head,
// scattering their gradients back, x += y and x += αy.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void residual_add(float* x, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void scaled_add(float* x, const float* y, int64_t n, float alpha) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] += alpha * y[i];
}

void scale(float* x, int64_t n, float alpha) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void gather_rows(float* out, const float* in, const int32_t* rows, int R, int D) {
  for (int r = 0; r < R; ++r)
    std::memcpy(out + static_cast<size_t>(r) * D, in + static_cast<size_t>(rows[r]) * D, sizeof(float) * D);
}

void scatter_rows(float* out, const float* in, const int32_t* rows, int R, int D) {
  for (int r = 0; r < R; ++r)
    std::memcpy(out + static_cast<size_t>(rows[r]) * D, in + static_cast<size_t>(r) * D, sizeof(float) * D);
}

}  // namespace qzo::cpu
