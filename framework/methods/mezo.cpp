#include "framework/methods/mezo.h"

#include <algorithm>

#include "framework/core/error.h"
#include "framework/core/hash.h"
#include "kernels/ops.h"

namespace qzo {

namespace {

// Stored weights read as w + signed_eps·z(seed, stream = parameter id): dense operands
// carrying the perturbation, materialized by the ops where they are read.
class MezoPerturbedWeights final : public WeightSource {
 public:
  MezoPerturbedWeights(const Model& model, uint64_t seed, float signed_eps)
      : model_(model), seed_(seed), signed_eps_(signed_eps) {}

  WeightOperand operand(int id) const override {
    return model_.parameters()[id].operand().with_perturbation({seed_, static_cast<uint32_t>(id), signed_eps_});
  }

 private:
  const Model& model_;
  uint64_t seed_;
  float signed_eps_;
};

}  // namespace

MezoParameters::MezoParameters(Model& model) : model_(model) {
  // Every weight is what MeZO trains: the memory table counts them as trainable.
  for (Parameter& p : model_.parameters()) p.values.retag(MemoryComponent::Trainable);
}

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

// bf16/fp16 storage: the update is computed in fp32 and rounded back stochastically, with bits
// keyed on (seed, parameter id, element), so that updates below half an ulp survive in
// expectation (no fp32 master copy: no extra memory) and every rank rounds the same way.
void MezoParameters::update_rounded(Workspace& ws, Parameter& p, uint32_t stream, uint64_t seed, float keep,
                                    float step) {
  Backend& be = model_.backend();
  const size_t n = static_cast<size_t>(p.numel());
  ws.reset();
  float* w = ws.take<float>(n);
  ops::dense_read(be, w, p.operand().dense, nullptr);
  ops::zo_axpy(be, w, static_cast<int64_t>(n), seed, stream, keep, step);
  const std::vector<float> host = download_vector(be, w, n);
  std::vector<uint8_t> stored(p.nbytes());
  convert_from_f32_stochastic(p.dtype, host.data(), stored.data(), n, seed, stream);
  be.upload(p.values.data(), stored.data(), stored.size());
}

// No shortcut at lr = 0: the update itself leaves every bit in place when step = decay = 0
// (zo_axpy keeps −0, and stochastic rounding keeps values the storage holds exactly).
void MezoParameters::update(uint64_t seed, float step, float decay) {
  Workspace ws(model_.backend(), MemoryComponent::Workspace);  // one fp32 tensor at a time
  for (size_t id = 0; id < model_.parameters().size(); ++id) {
    Parameter& p = model_.parameters()[id];
    const auto stream = static_cast<uint32_t>(id);
    const float keep = p.shape.size() >= 2 ? 1.0f - decay : 1.0f;
    if (p.dtype == DType::F32)
      ops::zo_axpy(model_.backend(), p.f32(), p.numel(), seed, stream, keep, step);
    else
      update_rounded(ws, p, stream, seed, keep, step);
  }
}

std::vector<std::vector<uint8_t>> MezoParameters::snapshot() const {
  std::vector<std::vector<uint8_t>> s;
  for (const Parameter& p : model_.parameters()) s.push_back(download_bytes(model_.backend(), p.values));
  return s;
}

void MezoParameters::restore(const std::vector<std::vector<uint8_t>>& snapshot) {
  auto& params = model_.parameters();
  if (snapshot.size() != params.size()) fail("mezo: snapshot does not match the model");
  for (size_t i = 0; i < params.size(); ++i) {
    if (snapshot[i].size() != params[i].nbytes()) fail("mezo: snapshot does not match '" + params[i].name + "'");
    model_.backend().upload(params[i].values.data(), snapshot[i].data(), snapshot[i].size());
  }
}

uint64_t MezoParameters::state_hash() const {
  uint64_t h = kFnvOffset;
  for (const Parameter& p : model_.parameters()) {
    const std::vector<uint8_t> bytes = download_bytes(model_.backend(), p.values);
    h = fnv1a64_bytes(bytes.data(), bytes.size(), h);
  }
  return h;
}

size_t MezoParameters::trainable_bytes() const {
  size_t n = 0;
  for (const Parameter& p : model_.parameters()) n += p.nbytes();
  return n;
}

}  // namespace qzo
