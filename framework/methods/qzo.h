// QZO's trainable set: the fp32 quantization scales of every quantized linear layer.
// Codes, zero points, embeddings, norms and the head stay frozen; ±εz is applied to the
// scales while each layer is dequantized, so the stored scales never drift.
#pragma once
#include "framework/methods/zo_parameters.h"
#include "framework/quant/quantized_model.h"

namespace qzo {

class QzoParameters final : public ZoParameters {
 public:
  // scale_floor: updates never take a scale below it (the official code clamps at 1e-7).
  QzoParameters(QuantizedModel& model, float scale_floor);
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
};

}  // namespace qzo
