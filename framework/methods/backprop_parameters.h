// What a backprop method trains — LoRA adapters over a frozen quantized base (QLoRA,
// lora.h) or every weight (full fine-tuning, full_finetune.h) — with each tensor's fp32
// gradient and the optimizer's state beside it, in the model backend's memory tagged as
// trainable / gradients / optimizer so that a run's memory table splits them.
// The optimizer state is part of snapshot(): a resumed run continues exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "framework/methods/trainable_set.h"

namespace qzo {

enum class BackpropOptimizer { adamw, sgd };
BackpropOptimizer parse_backprop_optimizer(const std::string& name);  // "adamw" | "sgd"

struct OptimizerOptions {
  BackpropOptimizer kind = BackpropOptimizer::adamw;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled (AdamW); matrices only
};

// One trainable tensor: values, gradient, and (AdamW) moments, all n fp32 elements.
struct TrainableTensor {
  std::string name;
  float* values = nullptr;
  float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
  bool decay = false;
};

class BackpropParameters : public TrainableSet {
 public:
  // The weights a training pass reads; its dropout masks are drawn from `dropout_seed`.
  virtual std::unique_ptr<WeightSource> training_source(uint64_t dropout_seed) const = 0;
  // Where backprop writes this set's gradients.
  virtual GradientTargets gradient_targets() = 0;

  size_t size() const override;
  std::vector<std::vector<uint8_t>> snapshot() const override;  // values, then moments and the step count
  void restore(const std::vector<std::vector<uint8_t>>& snapshot) override;
  uint64_t state_hash() const override;
  size_t trainable_bytes() const override;
  size_t optimizer_bytes() const override;
  size_t gradient_bytes() const;

  std::vector<TrainableTensor>& tensors() { return tensors_; }
  const std::vector<TrainableTensor>& tensors() const { return tensors_; }
  void zero_gradients();
  void scale_gradients(float factor);
  double gradient_norm() const;  // global L2 norm, in double
  // One optimizer step with learning rate lr from the gradients as they are.
  void optimizer_step(float lr);
  const OptimizerOptions& optimizer() const { return options_; }
  int64_t optimizer_steps() const { return steps_; }
  Backend& backend() const { return *backend_; }

 protected:
  BackpropParameters(Backend& backend, const OptimizerOptions& options) : backend_(&backend), options_(options) {}
  // Registers `values` (n fp32 elements in backend memory, owned by the subclass) and
  // allocates its gradient and moments.
  void add_tensor(const std::string& name, float* values, int64_t n, bool decay);

 private:
  Backend* backend_;
  OptimizerOptions options_;
  std::vector<TrainableTensor> tensors_;
  std::vector<Buffer> owned_;  // gradients and moments
  int64_t steps_ = 0;
};

}  // namespace qzo
