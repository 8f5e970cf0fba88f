// Rotary position embedding, HF rotate_half layout: element i pairs with i + head_dim/2.
#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

namespace {

// sign = +1 rotates by the position's angle (forward), −1 by its negative (backward).
void rotate(float* x, const int32_t* positions, const float* cos_table, const float* sin_table, int rows, int heads,
            int head_dim, float sign) {
  const int half = head_dim / 2;
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* c = cos_table + static_cast<int64_t>(positions[r]) * half;
    const float* s = sin_table + static_cast<int64_t>(positions[r]) * half;
    for (int h = 0; h < heads; ++h) {
      float* v = x + (static_cast<int64_t>(r) * heads + h) * head_dim;
#pragma omp simd
      for (int i = 0; i < half; ++i) {
        const float x1 = v[i], x2 = v[i + half];
        const float si = sign * s[i];
        v[i] = x1 * c[i] - x2 * si;
        v[i + half] = x2 * c[i] + x1 * si;
      }
    }
  }
}

}  // namespace

void rope_forward(float* x, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                  int heads, int head_dim) {
  rotate(x, positions, cos_table, sin_table, rows, heads, head_dim, 1.0f);
}

void rope_backward(float* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                   int heads, int head_dim) {
  rotate(dx, positions, cos_table, sin_table, rows, heads, head_dim, -1.0f);
}

}  // namespace qzo::cpu
