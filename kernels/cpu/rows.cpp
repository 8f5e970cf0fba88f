// Row movement and the residual add on the CPU: gathering the labelled rows for the LM head,
// scattering their gradients back, and x += y.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void residual_add(float* x, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
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
