// QZO's trainable set: the fp32 quantization scales of every quantized linear layer.
// Codes, zero points, embeddings, norms and the head stay frozen; ±εz is applied to the
// scales while each layer is dequantized, so the stored scales never drift.
#pragma once
#include "framework/methods/zo_parameters.h"
#include "framework/quant/quantized_model.h"

namespace qzo {

// How ±εz meets the scales: added (S + εz, the paper's; ε in scale units) or multiplied
// (S·exp(εz), SPSA on log S; ε relative to each scale, so it transfers between quantizers).
enum class ScalePerturbation { Additive, Multiplicative };
ScalePerturbation parse_scale_perturbation(const std::string& name);  // "additive" | "multiplicative"

class QzoParameters final : public ZoParameters {
 public:
  // scale_floor: additive updates never take a scale below it (the official code clamps at
  // 1e-7); the multiplicative update S ← S·exp(−η d z) keeps scales positive by itself.
  QzoParameters(QuantizedModel& model, float scale_floor,
                ScalePerturbation perturbation = ScalePerturbation::Additive);
  std::string describe() const override;
  size_t size() const override;
  const Model& model() const override { return qmodel_.model(); }
  std::unique_ptr<WeightSource> perturbed(uint64_t seed, float signed_eps) const override;
  std::unique_ptr<WeightSource> current() const override;
  void update(uint64_t seed, float step, float decay) override;  // decay is ignored: scales are not decayed
  std::vector<std::vector<uint8_t>> snapshot() const override;
  void restore(const std::vector<std::vector<uint8_t>>& snapshot) override;
  uint64_t state_hash() const override;
  size_t trainable_bytes() const override;

 private:
  QuantizedModel& qmodel_;
  float scale_floor_;
  ScalePerturbation perturbation_;
};

}  // namespace qzo
