#include "framework/methods/qzo.h"

#include <cstring>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "kernels/ops.h"

namespace qzo {

ScalePerturbation parse_scale_perturbation(const std::string& name) {
  if (name == "additive") return ScalePerturbation::Additive;
  if (name == "multiplicative") return ScalePerturbation::Multiplicative;
  fail("method.perturbation: expected additive or multiplicative, got '" + name + "'");
}

QzoParameters::QzoParameters(QuantizedModel& model, float scale_floor, ScalePerturbation perturbation)
    : qmodel_(model), scale_floor_(scale_floor), perturbation_(perturbation) {}

std::string QzoParameters::describe() const {
  return std::to_string(size()) + " scales of " + std::to_string(qmodel_.layers().size()) + " quantized layers (" +
         qmodel_.spec().to_string() + (perturbation_ == ScalePerturbation::Multiplicative ? ", multiplicative" : "") +
         ")";
}

size_t QzoParameters::size() const { return qmodel_.num_scales(); }

std::unique_ptr<WeightSource> QzoParameters::perturbed(uint64_t seed, float signed_eps) const {
  return std::make_unique<QuantizedWeights>(
      qmodel_, Perturbation{seed, signed_eps, perturbation_ == ScalePerturbation::Multiplicative});
}

std::unique_ptr<WeightSource> QzoParameters::current() const { return std::make_unique<QuantizedWeights>(qmodel_); }

void QzoParameters::update(uint64_t seed, float step, float) {
  auto& layers = qmodel_.layers();
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto n = static_cast<int64_t>(layers[l].num_scales());
    const auto stream = static_cast<uint32_t>(l);
    if (perturbation_ == ScalePerturbation::Multiplicative)
      ops::scale_update_log(layers[l].backend(), layers[l].scales_data(), n, seed, stream, step);
    else
      ops::scale_update(layers[l].backend(), layers[l].scales_data(), n, seed, stream, step, scale_floor_);
  }
}

std::vector<std::vector<uint8_t>> QzoParameters::snapshot() const {
  std::vector<std::vector<uint8_t>> s;
  for (const QuantizedLinear& layer : qmodel_.layers()) {
    const std::vector<float> scales = layer.scales();
    s.emplace_back(reinterpret_cast<const uint8_t*>(scales.data()),
                   reinterpret_cast<const uint8_t*>(scales.data() + scales.size()));
  }
  return s;
}

void QzoParameters::restore(const std::vector<std::vector<uint8_t>>& snapshot) {
  auto& layers = qmodel_.layers();
  if (snapshot.size() != layers.size()) fail("qzo: snapshot does not match the model");
  for (size_t l = 0; l < layers.size(); ++l) {
    if (snapshot[l].size() != layers[l].num_scales() * sizeof(float)) fail("qzo: snapshot does not match layer scales");
    std::vector<float> scales(layers[l].num_scales());
    std::memcpy(scales.data(), snapshot[l].data(), snapshot[l].size());
    layers[l].set_scales(scales);
  }
}

uint64_t QzoParameters::state_hash() const {
  uint64_t h = kFnvOffset;
  for (const QuantizedLinear& layer : qmodel_.layers()) {
    const std::vector<float> scales = layer.scales();
    h = fnv1a64_bytes(scales.data(), scales.size() * sizeof(float), h);
  }
  return h;
}

size_t QzoParameters::trainable_bytes() const { return qmodel_.trainable_bytes(); }

}  // namespace qzo
