// Causal grouped-query attention, forward and backward, exact softmax in fp32.
// Parallel over (sequence, head); the backward over (sequence, kv head) so that the
// query heads sharing a kv head accumulate dk/dv without races.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

namespace {

// rows[j, d] (row stride `stride`) -> columns[d, j]: scores against all keys then become
// unit-stride loops over keys, which vectorize without a horizontal reduction.
inline void transpose_keys(float* columns, const float* rows, int n, int64_t stride, int head_dim) {
  for (int j = 0; j < n; ++j)
    for (int d = 0; d < head_dim; ++d) columns[static_cast<int64_t>(d) * n + j] = rows[j * stride + d];
}

// out[j] = scale · Σ_d x[d] · columns[d, j] for j < count.
inline void dot_all(float* out, const float* x, const float* columns, int count, int n, int head_dim, float scale) {
  for (int j = 0; j < count; ++j) out[j] = 0.0f;
  for (int d = 0; d < head_dim; ++d) {
    const float xd = x[d] * scale;
    const float* c = columns + static_cast<int64_t>(d) * n;
#pragma omp simd
    for (int j = 0; j < count; ++j) out[j] += xd * c[j];
  }
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
    std::vector<float> scores(Tk), kt(static_cast<size_t>(head_dim) * Tk);
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < Hq; ++h) {
        const int kvh = h / group;
        const float* kb = k + static_cast<int64_t>(b) * Tk * kv_stride + kvh * head_dim;
        const float* vb = v + static_cast<int64_t>(b) * Tk * kv_stride + kvh * head_dim;
        transpose_keys(kt.data(), kb, Tk, kv_stride, head_dim);
        for (int t = 0; t < Tq; ++t) {
          const float* qt = q + (static_cast<int64_t>(b) * Tq + t) * q_stride + h * head_dim;
          float* ot = out + (static_cast<int64_t>(b) * Tq + t) * q_stride + h * head_dim;
          const int visible = offset + t + 1;
          dot_all(scores.data(), qt, kt.data(), visible, Tk, head_dim, scale);
          float max_s = -INFINITY;
          for (int j = 0; j < visible; ++j) max_s = scores[j] > max_s ? scores[j] : max_s;
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
          if (probs)  // only the visible prefix is stored; the backward never reads past it
            std::memcpy(probs + ((static_cast<int64_t>(b) * Hq + h) * Tq + t) * Tk, scores.data(),
                        sizeof(float) * visible);
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
    std::vector<float> dscore(T), vt(static_cast<size_t>(head_dim) * T);
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; ++b)
      for (int kvh = 0; kvh < Hkv; ++kvh) {
        const int64_t kv_base = static_cast<int64_t>(b) * T * kv_stride + kvh * head_dim;
        for (int j = 0; j < T; ++j) {
          std::memset(dk + kv_base + j * kv_stride, 0, sizeof(float) * head_dim);
          std::memset(dv + kv_base + j * kv_stride, 0, sizeof(float) * head_dim);
        }
        transpose_keys(vt.data(), v + kv_base, T, kv_stride, head_dim);
        for (int h = kvh * group; h < (kvh + 1) * group; ++h)
          for (int t = 0; t < T; ++t) {
            const int64_t qo = (static_cast<int64_t>(b) * T + t) * q_stride + h * head_dim;
            const float* p = probs + ((static_cast<int64_t>(b) * Hq + h) * T + t) * T;
            const float* go = dout + qo;
            // dp_j = dout_t · v_j ; dv_j += p_j dout_t ; ds_j = p_j (dp_j − Σ p dp)
            dot_all(dscore.data(), go, vt.data(), t + 1, T, head_dim, 1.0f);
            float weighted = 0.0f;
            for (int j = 0; j <= t; ++j) {
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

}  // namespace qzo::cpu
