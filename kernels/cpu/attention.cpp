// Causal grouped-query attention, forward and backward, exact softmax in fp32.
// Parallel over (sequence, head); the backward over (sequence, kv head) so that the
// query heads sharing a kv head accumulate dk/dv without races.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ops.h"

namespace qzo::ops {

namespace {

inline float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

inline void axpy(float* y, float a, const float* x, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v, int B, int Tq,
                       int Tk, int Hq, int Hkv, int head_dim) {
  const int group = Hq / Hkv;
  const int offset = Tk - Tq;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t q_stride = static_cast<int64_t>(Hq) * head_dim;
  const int64_t kv_stride = static_cast<int64_t>(Hkv) * head_dim;
#pragma omp parallel
  {
    std::vector<float> scores(Tk);
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < Hq; ++h) {
        const int kvh = h / group;
        const float* kb = k + static_cast<int64_t>(b) * Tk * kv_stride + kvh * head_dim;
        const float* vb = v + static_cast<int64_t>(b) * Tk * kv_stride + kvh * head_dim;
        for (int t = 0; t < Tq; ++t) {
          const float* qt = q + (static_cast<int64_t>(b) * Tq + t) * q_stride + h * head_dim;
          float* ot = out + (static_cast<int64_t>(b) * Tq + t) * q_stride + h * head_dim;
          const int visible = offset + t + 1;
          float max_s = -INFINITY;
          for (int j = 0; j < visible; ++j) {
            scores[j] = dot(qt, kb + j * kv_stride, head_dim) * scale;
            max_s = scores[j] > max_s ? scores[j] : max_s;
          }
          float sum = 0.0f;
          for (int j = 0; j < visible; ++j) {
            scores[j] = std::exp(scores[j] - max_s);
            sum += scores[j];
          }
          const float inv = 1.0f / sum;
          std::memset(ot, 0, sizeof(float) * head_dim);
          for (int j = 0; j < visible; ++j) {
            scores[j] *= inv;
            axpy(ot, scores[j], vb + j * kv_stride, head_dim);
          }
          if (probs) {
            float* pt = probs + ((static_cast<int64_t>(b) * Hq + h) * Tq + t) * Tk;
            std::memcpy(pt, scores.data(), sizeof(float) * visible);
            std::memset(pt + visible, 0, sizeof(float) * (Tk - visible));
          }
        }
      }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* probs, int B, int T, int Hq, int Hkv, int head_dim) {
  const int group = Hq / Hkv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t q_stride = static_cast<int64_t>(Hq) * head_dim;
  const int64_t kv_stride = static_cast<int64_t>(Hkv) * head_dim;
#pragma omp parallel
  {
    std::vector<float> dscore(T);
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int kvh = 0; kvh < Hkv; ++kvh) {
        const int64_t kv_base = static_cast<int64_t>(b) * T * kv_stride + kvh * head_dim;
        for (int j = 0; j < T; ++j) {
          std::memset(dk + kv_base + j * kv_stride, 0, sizeof(float) * head_dim);
          std::memset(dv + kv_base + j * kv_stride, 0, sizeof(float) * head_dim);
        }
        for (int h = kvh * group; h < (kvh + 1) * group; ++h)
          for (int t = 0; t < T; ++t) {
            const int64_t qo = (static_cast<int64_t>(b) * T + t) * q_stride + h * head_dim;
            const float* p = probs + ((static_cast<int64_t>(b) * Hq + h) * T + t) * T;
            const float* go = dout + qo;
            // dp_j = dout_t · v_j ; dv_j += p_j dout_t ; ds_j = p_j (dp_j − Σ p dp)
            float weighted = 0.0f;
            for (int j = 0; j <= t; ++j) {
              dscore[j] = dot(go, v + kv_base + j * kv_stride, head_dim);
              weighted += p[j] * dscore[j];
              axpy(dv + kv_base + j * kv_stride, p[j], go, head_dim);
            }
            float* dqt = dq + qo;
            std::memset(dqt, 0, sizeof(float) * head_dim);
            for (int j = 0; j <= t; ++j) {
              const float ds = p[j] * (dscore[j] - weighted) * scale;
              axpy(dqt, ds, k + kv_base + j * kv_stride, head_dim);
              axpy(dk + kv_base + j * kv_stride, ds, q + qo, head_dim);
            }
          }
      }
  }
}

}  // namespace qzo::ops
