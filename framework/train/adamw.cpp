#include "framework/train/adamw.h"

#include <cmath>

#include "kernels/ops.h"

namespace qzo {

AdamW::AdamW(const Model& model, const AdamWOptions& options) : o_(options) {
  Backend& be = model.backend();
  for (const Parameter& p : model.parameters()) {
    for (auto* state : {&m_, &v_}) {
      state->push_back(be.alloc(static_cast<size_t>(p.numel()) * sizeof(float), MemoryComponent::Optimizer));
      be.fill_zero(state->back().data(), state->back().bytes());
    }
    decay_.push_back(p.shape.size() >= 2);
  }
}

void AdamW::step(Model& model, const Gradients& grads, float lr) {
  ++t_;
  const float c1 = 1.0f - std::pow(o_.beta1, float(t_)), c2 = 1.0f - std::pow(o_.beta2, float(t_));
  auto& params = model.parameters();
  for (size_t id = 0; id < params.size(); ++id) {
    const ops::AdamWStep s{lr, o_.beta1, o_.beta2, o_.eps, decay_[id] ? o_.weight_decay : 0.0f, c1, c2};
    ops::adamw_update(model.backend(), params[id].f32(), grads.data(static_cast<int>(id)), m_[id].as<float>(),
                      v_[id].as<float>(), params[id].numel(), s);
  }
}

size_t AdamW::state_bytes() const {
  size_t n = 0;
  for (size_t i = 0; i < m_.size(); ++i) n += m_[i].bytes() + v_[i].bytes();
  return n;
}

}  // namespace qzo
