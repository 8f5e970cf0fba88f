// A decoder whose linear-layer weights are QuantizedLinear layers (frozen codes and zero
// points, trainable fp32 scales), the WeightSource that dequantizes them, optionally with
// every scale perturbed by ±εz, and the quantized checkpoint format (HF folder).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/core/dtype.h"
#include "framework/model/model.h"
#include "framework/quant/calibration.h"
#include "framework/quant/quant_spec.h"
#include "framework/quant/quantized_linear.h"

namespace qzo {

// Scale j of layer l reads as S_j + signed_eps · z(seed, stream = l, j), or as
// S_j · exp(signed_eps · z) when multiplicative.
struct Perturbation {
  uint64_t seed = 0;
  float signed_eps = 0.0f;
  bool multiplicative = false;
};

class QuantizedModel {
 public:
  // Replaces every is_matrix_weight parameter by a QuantizedLinear (read through the
  // model's stored weights, so BF16/F16 storage works) and frees its stored bytes.
  // Throws naming the tensor when the group size does not divide its in_features.
  // The layers live on the model's backend. GPTQ and codebook specs need `calibration`:
  // they quantize decoder layer by decoder layer, each one's Hessians collected with the
  // layers before it already quantized (calibration.h).
  static QuantizedModel quantize(Model model, const QuantSpec& spec, const CalibrationSet* calibration = nullptr);
  // Adopts layers made elsewhere (benchmarks' random layers, converters): layer l replaces
  // the l-th is_matrix_weight parameter of `model` (whose stored bytes are freed). Throws
  // naming the tensor when a shape does not match, or when a layer is on another backend.
  static QuantizedModel from_layers(Model model, const QuantSpec& spec, std::vector<QuantizedLinear> layers);

  // Reads a folder written by save(): config.json with "quantization_config" and
  // model.safetensors with X.qweight / X.scales / X.qzeros for each linear weight X.weight
  // (bitsandbytes' X.weight / X.weight.absmax / X.weight.nested_* when double-quantized).
  // Unquantized tensors are kept as `storage`. Errors name the file and the tensor or key.
  static QuantizedModel load(const std::string& dir, DType storage = DType::F32, Backend& backend = cpu_backend());
  // Writes config.json (+ quantization_config) and model.safetensors (scales in fp32,
  // unquantized tensors in their storage dtype), config.json last so that a folder with a
  // config is complete. Copies tokenizer.json / tokenizer_config.json from
  // `tokenizer_dir` when given and present there.
  void save(const std::string& dir, const std::string& tokenizer_dir = "") const;

  QuantizedModel(QuantizedModel&&) noexcept = default;
  QuantizedModel& operator=(QuantizedModel&&) noexcept = default;

  // The replaced parameters keep their names and shapes but hold no bytes: a forward pass
  // on model() must read through QuantizedWeights (or use forward_loss below).
  Model& model() { return model_; }
  const Model& model() const { return model_; }
  const QuantSpec& spec() const { return spec_; }

  // Layer l is the l-th quantized parameter in parameter order; l is also its Philox stream.
  std::vector<QuantizedLinear>& layers() { return layers_; }
  const std::vector<QuantizedLinear>& layers() const { return layers_; }
  int layer_of(int param_id) const;  // -1 when the parameter is not quantized
  int param_of(int layer) const;
  size_t num_scales() const;  // the QZO trainable parameter count

  // Codes + zero points + scales (or double-quantized absmax) of every layer plus the
  // remaining stored parameters.
  size_t weight_bytes() const;
  size_t trainable_bytes() const;  // fp32 scales; 0 for a double-quantized (frozen) base

  // Forward passes through QuantizedWeights with the given perturbation (none = S itself).
  LossSums forward_loss(const Batch& batch, const std::optional<Perturbation>& perturbation = std::nullopt) const;
  std::vector<float> forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                    const std::optional<Perturbation>& perturbation = std::nullopt) const;

 private:
  QuantizedModel(Model model, const QuantSpec& spec, std::vector<QuantizedLinear> layers);

  Model model_;
  QuantSpec spec_;
  std::vector<QuantizedLinear> layers_;
  std::vector<int> layer_of_param_;
  std::vector<int> param_of_layer_;
};

// Quantized parameters are read as quantized views (with the perturbation's ±εz on every
// scale when one is given); every other parameter as the model's stored weights. Never
// writes to the scales: the stored θ does not drift.
class QuantizedWeights final : public WeightSource {
 public:
  explicit QuantizedWeights(const QuantizedModel& model,
                            std::optional<Perturbation> perturbation = std::nullopt)
      : model_(&model), perturbation_(perturbation) {}
  WeightOperand operand(int id) const override;

 private:
  const QuantizedModel* model_;
  std::optional<Perturbation> perturbation_;
};

}  // namespace qzo
