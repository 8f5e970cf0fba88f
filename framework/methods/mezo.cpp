#include "framework/methods/mezo.h"

#include <algorithm>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "framework/core/philox.h"

namespace qzo {

namespace {

// Stored weight + signed_eps·z, materialized into the caller's scratch.
class MezoPerturbedWeights final : public WeightSource {
 public:
  MezoPerturbedWeights(const Model& model, uint64_t seed, float signed_eps)
      : model_(model), seed_(seed), signed_eps_(signed_eps) {}

  const float* read(int id, float* scratch) const override {
    const Parameter& p = model_.parameters()[id];
    const size_t n = static_cast<size_t>(p.numel());
    convert_to_f32(p.dtype, p.bytes.data(), scratch, n);
    if (z_.size() < n) z_.resize(n);
    philox_normal_fill(seed_, static_cast<uint32_t>(id), 0, n, z_.data());
    const float e = signed_eps_;
    const float* z = z_.data();
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) scratch[i] += e * z[i];
    return scratch;
  }

 private:
  const Model& model_;
  uint64_t seed_;
  float signed_eps_;
  mutable std::vector<float> z_;
};

}  // namespace

MezoParameters::MezoParameters(Model& model) : model_(model) {}

std::string MezoParameters::describe() const {
  return std::to_string(size()) + " weights of " + std::to_string(model_.parameters().size()) + " tensors (" +
         dtype_name(model_.parameters().front().dtype) + ")";
}

size_t MezoParameters::size() const { return static_cast<size_t>(model_.num_parameters()); }

std::unique_ptr<WeightSource> MezoParameters::perturbed(uint64_t seed, float signed_eps) const {
  return std::make_unique<MezoPerturbedWeights>(model_, seed, signed_eps);
}

std::unique_ptr<WeightSource> MezoParameters::current() const {
  // Stored weights unchanged: a perturbation of zero would cost a copy for nothing.
  return model_.stored_weights_source();
}

void MezoParameters::update(uint64_t seed, float step, float decay) {
  if (step == 0.0f && decay == 0.0f) return;  // lr = 0 must leave θ bit-identical (even −0.0)
  std::vector<float> z, w;
  for (size_t id = 0; id < model_.parameters().size(); ++id) {
    Parameter& p = model_.parameters()[id];
    const size_t n = static_cast<size_t>(p.numel());
    z.resize(n);
    philox_normal_fill(seed, static_cast<uint32_t>(id), 0, n, z.data());
    const float keep = p.shape.size() >= 2 ? 1.0f - decay : 1.0f;
    float* values = p.f32();
    if (p.dtype != DType::F32) {  // bf16/fp16 storage: update in fp32, round back once
      w.resize(n);
      convert_to_f32(p.dtype, p.bytes.data(), w.data(), n);
      values = w.data();
    }
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) values[i] = keep * values[i] + step * z[i];
    if (p.dtype != DType::F32) convert_from_f32(p.dtype, w.data(), p.bytes.data(), n);
  }
}

std::vector<std::vector<uint8_t>> MezoParameters::snapshot() const {
  std::vector<std::vector<uint8_t>> s;
  for (const Parameter& p : model_.parameters()) s.push_back(p.bytes);
  return s;
}

void MezoParameters::restore(const std::vector<std::vector<uint8_t>>& snapshot) {
  auto& params = model_.parameters();
  if (snapshot.size() != params.size()) fail("mezo: snapshot does not match the model");
  for (size_t i = 0; i < params.size(); ++i) params[i].bytes = snapshot[i];
}

uint64_t MezoParameters::state_hash() const {
  uint64_t h = kFnvOffset;
  for (const Parameter& p : model_.parameters()) h = fnv1a64_bytes(p.bytes.data(), p.bytes.size(), h);
  return h;
}

size_t MezoParameters::trainable_bytes() const {
  size_t n = 0;
  for (const Parameter& p : model_.parameters()) n += p.bytes.size();
  return n;
}

}  // namespace qzo
