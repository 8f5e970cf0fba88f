// AdamW (decoupled weight decay) over one fp32 tensor on the CPU.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                  float eps, float weight_decay, float bias_correction1, float bias_correction2) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
    v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
    const float update = (m[i] / bias_correction1) / (std::sqrt(v[i] / bias_correction2) + eps);
    w[i] -= lr * (update + weight_decay * w[i]);
  }
}

}  // namespace qzo::cpu
