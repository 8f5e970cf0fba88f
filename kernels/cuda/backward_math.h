// Per-element and per-row math of the backward kernels (matmul's bias gradient, rmsnorm, rope,
// attention, swiglu, embedding, LoRA dropout), written in the CPU reference's expression order
// and shared with the host test (tests/unit/test_cuda_math.cpp).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.h"

namespace qzo {

// ---- matmul: dbias[n] += Σ_m dout[m, n], the rows summed in order into a zero start ----------
QZO_HD inline float bias_gradient(const float* dout, int64_t M, int N, int n) {
  float sum = 0.0f;
  for (int64_t m = 0; m < M; ++m) sum += dout[m * N + n];
  return sum;
}

// ---- RMSNorm: dx_i = s·w_i·g_i − x_i·c with c = (Σ_j w_j·g_j·x_j)·s³/D; dw_i += g_i·x_i·s --------
QZO_HD inline float rmsnorm_dot_term(float w, float g, float x) { return w * g * x; }
QZO_HD inline float rmsnorm_backward_coefficient(float dot, float rstd, int D) {
  return dot * rstd * rstd * rstd / float(D);
}
QZO_HD inline float rmsnorm_dinp_element(float x, float g, float w, float rstd, float c) {
  return rstd * w * g - x * c;
}
// Feature i's weight gradient over every row, added row by row into dweight[i] (the CPU's order).
QZO_HD inline float rmsnorm_dweight_feature(float dweight, const float* dout, const float* inp, const float* rstd,
                                            int64_t rows, int D, int i) {
  for (int64_t r = 0; r < rows; ++r) dweight += dout[r * D + i] * inp[r * D + i] * rstd[r];
  return dweight;
}

// ---- RoPE: the inverse rotation is the rotation by −angle (sin negated, exactly) -----------------
QZO_HD inline void rope_unrotate(float& x1, float& x2, float c, float s) {
  const float a = x1, b = x2, si = -s;  // the CPU's sign · s with sign = −1: exact
  x1 = a * c - b * si;
  x2 = b * c + a * si;
}

// ---- attention (Tq == Tk == T) -------------------------------------------------------------------
// dp_j = dout_t · v_j over head_dim, in order from a zero start.
QZO_HD inline float attention_dot(const float* a, const float* b, int head_dim) {
  float sum = 0.0f;
  for (int d = 0; d < head_dim; ++d) sum += a[d] * b[d];
  return sum;
}
// Σ_j p_j·dp_j over the visible keys 0..t of one query row (p the row of probs, v_j at v + j·kv_stride).
QZO_HD inline float attention_weighted_dscore(const float* p, const float* dout_t, const float* v, int64_t kv_stride,
                                              int t, int head_dim) {
  float weighted = 0.0f;
  for (int j = 0; j <= t; ++j) weighted += p[j] * attention_dot(dout_t, v + j * kv_stride, head_dim);
  return weighted;
}
// ds_j = p_j·(dp_j − Σ p dp)·scale: the gradient of score j (before the 1/sqrt(head_dim) scale).
QZO_HD inline float attention_dscore(float p, float dp, float weighted, float scale) {
  return p * (dp - weighted) * scale;
}

// ---- SwiGLU: out = silu(g)·u --------------------------------------------------------------------
struct SwigluGrad {
  float dgate, dup;
};
QZO_HD inline SwigluGrad swiglu_backward_element(float g, float u, float dout) {
  const float sig = 1.0f / (1.0f + expf(-g));
  const float silu = g * sig;
  return {dout * u * sig * (1.0f + g * (1.0f - sig)), dout * silu};
}

// ---- embedding: feature d of every looked-up row added into the table in token order -------------
QZO_HD inline void embedding_backward_feature(float* dtable, const float* dout, const int32_t* tokens, int n, int D,
                                              int d) {
  for (int i = 0; i < n; ++i) dtable[int64_t(tokens[i]) * D + d] += dout[int64_t(i) * D + d];
}

// ---- LoRA dropout: element i of Philox block i/4, kept when its uniform is >= p ------------------
// keep_scale = 1/(1 − p), computed once by the caller as the CPU does.
QZO_HD inline float dropout_element(float x, uint32_t bits, float p, float keep_scale) {
  return philox_open_uniform(bits) >= p ? x * keep_scale : 0.0f;
}

}  // namespace qzo
