#include "framework/methods/full_finetune.h"

#include "framework/core/error.h"

namespace qzo {

FullParameters::FullParameters(Model& model, const OptimizerOptions& optimizer)
    : BackpropParameters(model.backend(), optimizer), model_(model) {
  for (Parameter& p : model.parameters()) {
    if (p.dtype != DType::F32)
      fail("model.dtype: full fine-tuning trains fp32 weights, '" + p.name + "' is stored as " + dtype_name(p.dtype));
    p.values.retag(MemoryComponent::Trainable);  // the weights are what trains
    add_tensor(p.name, p.f32(), p.numel(), p.shape.size() >= 2);
  }
}

std::string FullParameters::describe() const {
  return std::to_string(size()) + " weights of " + std::to_string(model_.parameters().size()) + " tensors (" +
         (optimizer().kind == BackpropOptimizer::adamw ? "AdamW" : "SGD") + ")";
}

GradientTargets FullParameters::gradient_targets() {
  GradientTargets g;
  for (const TrainableTensor& t : tensors()) g.weights.push_back(t.grad);
  return g;
}

}  // namespace qzo
