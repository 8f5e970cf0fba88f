#include "framework/train/adamw.h"

#include <cmath>

namespace qzo {

AdamW::AdamW(const Model& model, const AdamWOptions& options) : o_(options) {
  for (const Parameter& p : model.parameters()) {
    m_.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    v_.emplace_back(static_cast<size_t>(p.numel()), 0.0f);
    decay_.push_back(p.shape.size() >= 2);
  }
}

void AdamW::step(Model& model, const Gradients& grads, float lr) {
  ++t_;
  const float c1 = 1.0f - std::pow(o_.beta1, float(t_)), c2 = 1.0f - std::pow(o_.beta2, float(t_));
  auto& params = model.parameters();
  for (size_t id = 0; id < params.size(); ++id) {
    float* w = params[id].f32();
    const float* g = grads.of(static_cast<int>(id)).data();
    float* m = m_[id].data();
    float* v = v_[id].data();
    const float decay = decay_[id] ? o_.weight_decay : 0.0f;
    const int64_t n = params[id].numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      m[i] = o_.beta1 * m[i] + (1.0f - o_.beta1) * g[i];
      v[i] = o_.beta2 * v[i] + (1.0f - o_.beta2) * g[i] * g[i];
      const float update = (m[i] / c1) / (std::sqrt(v[i] / c2) + o_.eps);
      w[i] -= lr * (update + decay * w[i]);
    }
  }
}

size_t AdamW::state_bytes() const {
  size_t n = 0;
  for (const auto& m : m_) n += m.size() * 2 * sizeof(float);
  return n;
}

}  // namespace qzo
