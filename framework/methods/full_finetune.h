// Full fine-tuning's trainable set: every parameter of an fp32 model, with an fp32
// gradient each and (AdamW) two moments — the memory reference the paper's table starts
// from. SGD (the paper's FT baseline) keeps no optimizer state.
#pragma once
#include "framework/methods/backprop_parameters.h"

namespace qzo {

class FullParameters final : public BackpropParameters {
 public:
  // Throws unless every parameter is stored in fp32 (model.dtype: f32).
  FullParameters(Model& model, const OptimizerOptions& optimizer);
  std::string describe() const override;
  const Model& model() const override { return model_; }
  std::unique_ptr<WeightSource> current() const override { return model_.stored_weights_source(); }
  std::unique_ptr<WeightSource> training_source(uint64_t) const override { return current(); }
  GradientTargets gradient_targets() override;

 private:
  Model& model_;
};

}  // namespace qzo
