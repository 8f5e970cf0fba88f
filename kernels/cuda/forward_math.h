// Per-element and per-row math of the dense forward kernels (rmsnorm, rope, swiglu, cross-
// entropy, candidate log-probs, causal softmax), shared with the host test.
#pragma once
#include <cmath>

#include "kernels/hd.h"

namespace qzo {

// RMSNorm: rstd = 1/sqrt(mean(x²) + eps); y = (x·rstd)·w, the CPU's order.
QZO_HD inline float rmsnorm_rstd(float sum_sq, int D, float eps) { return 1.0f / sqrtf(sum_sq / float(D) + eps); }
QZO_HD inline float rmsnorm_element(float x, float rstd, float w) { return x * rstd * w; }

// Rotary embedding (rotate_half): the pair (x1, x2) = (v[i], v[i + head_dim/2]) rotated by the angle.
QZO_HD inline void rope_rotate(float& x1, float& x2, float c, float s) {
  const float a = x1, b = x2;
  x1 = a * c - b * s;
  x2 = b * c + a * s;
}

// silu(g)·u.
QZO_HD inline float swiglu_element(float g, float u) { return g / (1.0f + expf(-g)) * u; }

// Cross-entropy: dloss/dlogit_i · scale = softmax_i · scale (− scale at the target).
QZO_HD inline float cross_entropy_dlogit(float logit, float log_sum, float scale, bool is_target) {
  const float d = expf(logit - log_sum) * scale;
  return is_target ? d - scale : d;
}

// log p(candidate) = logit[c] − (logit[target] + loss) = logit[c] − logsumexp.
QZO_HD inline float candidate_logprob(float candidate_logit, float target_logit, float loss) {
  return candidate_logit - (target_logit + loss);
}

// Causal attention: query t of Tq, with Tk keys, sees keys 0 .. Tk − Tq + t.
QZO_HD inline int visible_keys(int Tq, int Tk, int t) { return Tk - Tq + t + 1; }

}  // namespace qzo
