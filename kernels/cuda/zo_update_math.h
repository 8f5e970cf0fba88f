// Per-element math of the in-place parameter updates (scale_update.cu, zo_axpy.cu,
// adamw_update.cu), written as the CPU reference in kernels/cpu/ and shared with the host test.
#pragma once
#include <cmath>

#include "kernels/hd.h"

namespace qzo {

// QZO: max(S + step·z, min(floor, S)) with std::max/std::min's comparisons (NaN and signed
// zeros behave as on the CPU; fmaxf/fminf would not), the sum an explicit FMA.
QZO_HD inline float updated_scale(float s, float step, float z, float floor) {
  const float lower = s < floor ? s : floor;  // std::min(floor, s)
  const float moved = fmaf(step, z, s);
  return moved < lower ? lower : moved;       // std::max(moved, lower)
}

// MeZO: keep·w + step·z as kernels/cpu/zo_axpy.cpp writes it: step·z rounded, then fused.
// A zero step·z leaves keep·w as it is: fma(1, −0, +0) is +0, and lr = 0 must leave every
// bit of θ unchanged, −0 included (otherwise the same value as the fma: adding 0 is exact).
QZO_HD inline float zo_axpy_element(float w, float keep, float step, float z) {
  const float moved = step * z;
  return moved == 0.0f ? keep * w : fmaf(keep, w, moved);
}

struct AdamWMoments {
  float m, v;
};

// Decoupled-weight-decay Adam on one element, in the reference's expression order.
QZO_HD inline float adamw_element(float w, float g, AdamWMoments& mv, float lr, float beta1, float beta2, float eps,
                                  float weight_decay, float bias_correction1, float bias_correction2) {
  mv.m = beta1 * mv.m + (1.0f - beta1) * g;
  mv.v = beta2 * mv.v + (1.0f - beta2) * g * g;
  const float update = (mv.m / bias_correction1) / (sqrtf(mv.v / bias_correction2) + eps);
  return w - lr * (update + weight_decay * w);
}

}  // namespace qzo
