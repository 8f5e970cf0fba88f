// MeZO's trainable set: every parameter of an unquantized model (fp32, bf16 or fp16
// storage), perturbed where it is read so the stored weights never drift, and updated with
// stochastic rounding on bf16/fp16 storage (kernels/dtype.h) so that small steps are kept.
#pragma once
#include "framework/methods/zo_parameters.h"

namespace qzo {

class MezoParameters final : public ZoParameters {
 public:
  explicit MezoParameters(Model& model);
  std::string describe() const override;
  size_t size() const override;
  const Model& model() const override { return model_; }
  std::unique_ptr<WeightSource> perturbed(uint64_t seed, float signed_eps) const override;
  std::unique_ptr<WeightSource> current() const override;
  // Decay applies to matrices only (no decay on biases, norms), as MeZO does.
  void update(uint64_t seed, float step, float decay) override;
  std::vector<std::vector<uint8_t>> snapshot() const override;
  void restore(const std::vector<std::vector<uint8_t>>& snapshot) override;
  uint64_t state_hash() const override;
  size_t trainable_bytes() const override;

 private:
  void update_rounded(Workspace& ws, Parameter& p, uint32_t stream, uint64_t seed, float keep, float step);
  Model& model_;
};

}  // namespace qzo
