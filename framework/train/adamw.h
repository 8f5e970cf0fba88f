// AdamW (decoupled weight decay) over a model's fp32 parameters; no decay on norms,
// biases and 1-D tensors. Used by pretraining and, later, QLoRA and full fine-tuning.
#pragma once
#include <vector>

#include "framework/model/model.h"

namespace qzo {

struct AdamWOptions {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f;
};

class AdamW {
 public:
  AdamW(const Model& model, const AdamWOptions& options);
  // One update with learning rate lr from the accumulated gradients.
  void step(Model& model, const Gradients& grads, float lr);
  size_t state_bytes() const;

 private:
  AdamWOptions o_;
  std::vector<Buffer> m_, v_;  // on the model's backend, tagged as optimizer state
  std::vector<bool> decay_;
  long t_ = 0;
};

}  // namespace qzo
