// LoRA's trainable set: per targeted linear layer W [out, in], factors A [r, in] (Kaiming-
// uniform, as PEFT initializes them) and B [out, r] (zero, so training starts at the base
// model), read as W x + (α/r) B A dropout(x). The base — a quantized model (QLoRA) or a
// plain one — stays frozen and is read one layer at a time; only the factors train.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "framework/methods/backprop_parameters.h"

namespace qzo {

struct LoraSpec {
  int rank = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;
  // Module names (the second-last part of an HF weight name, e.g. q_proj), or "all-linear".
  std::vector<std::string> targets = {"q_proj", "v_proj"};
  float scale() const { return alpha / float(rank); }
  bool targets_module(const std::string& module) const;
};
// "q_proj,v_proj" or "all-linear"; throws naming `where` for an unknown module name.
std::vector<std::string> parse_lora_targets(const std::string& text, const std::string& where);

// "model.layers.0.self_attn.q_proj.weight" → "q_proj"; "" for a name without one.
std::string module_of(const std::string& weight_name);

class LoraParameters final : public BackpropParameters {
 public:
  struct Adapter {
    int param = -1;      // the adapted weight's parameter id
    int in = 0, out = 0;
    Buffer A, B;         // [rank, in], [out, rank]; trainable
  };
  // Adapters on every linear weight of `model` whose module `spec` targets, A drawn from
  // `init_seed`. `base` (owned) reads the frozen weights. Throws when nothing is targeted.
  LoraParameters(const Model& model, std::unique_ptr<WeightSource> base, const LoraSpec& spec, uint64_t init_seed,
                 const OptimizerOptions& optimizer);

  std::string describe() const override;
  const Model& model() const override { return model_; }
  std::unique_ptr<WeightSource> current() const override;
  std::unique_ptr<WeightSource> training_source(uint64_t dropout_seed) const override;
  GradientTargets gradient_targets() override;

  const LoraSpec& spec() const { return spec_; }
  const std::vector<Adapter>& adapters() const { return adapters_; }
  std::vector<Adapter>& adapters() { return adapters_; }
  const WeightSource& base() const { return *base_; }

 private:
  std::unique_ptr<WeightSource> source_with_dropout(float dropout, uint64_t seed) const;
  const Model& model_;
  std::unique_ptr<WeightSource> base_;
  LoraSpec spec_;
  std::vector<Adapter> adapters_;
};

}  // namespace qzo
