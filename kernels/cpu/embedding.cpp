// Token embedding lookup and its scatter-add backward.
#include <cstring>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void embedding_forward(float* out, const int32_t* tokens, const float* table, int n, int D) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < n; ++i)
    std::memcpy(out + static_cast<int64_t>(i) * D, table + static_cast<int64_t>(tokens[i]) * D, sizeof(float) * D);
}

void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int n, int D) {
  // Parallel over features, so that repeated tokens never race.
#pragma omp parallel for schedule(static)
  for (int d = 0; d < D; ++d)
    for (int i = 0; i < n; ++i)
      dtable[static_cast<int64_t>(tokens[i]) * D + d] += dout[static_cast<int64_t>(i) * D + d];
}

}  // namespace qzo::cpu
