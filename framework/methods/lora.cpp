#include "framework/methods/lora.h"

#include <cmath>
#include <sstream>

#include "framework/core/error.h"
#include "kernels/philox.h"

namespace qzo {

namespace {

const std::vector<std::string>& linear_modules() {
  static const std::vector<std::string> names = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

// The base's operands with an adapter on each adapted weight.
class AdaptedWeights final : public WeightSource {
 public:
  AdaptedWeights(const WeightSource& base, std::vector<LoraAdapter> by_param)
      : base_(base), by_param_(std::move(by_param)) {}
  WeightOperand operand(int id) const override { return base_.operand(id); }
  const LoraAdapter* adapter(int id) const override {
    return size_t(id) < by_param_.size() && by_param_[id].rank > 0 ? &by_param_[id] : nullptr;
  }

 private:
  const WeightSource& base_;
  std::vector<LoraAdapter> by_param_;
};

// PEFT's default: kaiming_uniform_(a=√5), i.e. U(−1/√in, 1/√in), here from Philox so that
// every rank draws the same factors.
std::vector<float> kaiming_uniform(int rows, int in, uint64_t seed, uint32_t stream) {
  std::vector<float> a(size_t(rows) * in);
  const float bound = 1.0f / std::sqrt(float(in));
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = bound * (2.0f * philox_open_uniform(philox_rounding_bits(seed, stream, i)) - 1.0f);
  return a;
}

}  // namespace

bool LoraSpec::targets_module(const std::string& module) const {
  for (const std::string& t : targets)
    if (t == module || (t == "all-linear" && !module.empty())) return true;
  return false;
}

std::vector<std::string> parse_lora_targets(const std::string& text, const std::string& where) {
  if (text == "all-linear") return linear_modules();
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string name;
  while (std::getline(in, name, ',')) {
    bool known = false;
    for (const std::string& m : linear_modules()) known = known || m == name;
    if (!known)
      fail(where + ": unknown LoRA target '" + name +
           "' (expected all-linear or a comma-separated list of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
           "down_proj)");
    out.push_back(name);
  }
  if (out.empty()) fail(where + ": no LoRA target given");
  return out;
}

std::string module_of(const std::string& weight_name) {
  const size_t last = weight_name.rfind('.');
  if (last == std::string::npos) return "";
  const size_t before = weight_name.rfind('.', last - 1);
  return weight_name.substr(before == std::string::npos ? 0 : before + 1,
                            last - (before == std::string::npos ? 0 : before + 1));
}

LoraParameters::LoraParameters(const Model& model, std::unique_ptr<WeightSource> base, const LoraSpec& spec,
                               uint64_t init_seed, const OptimizerOptions& optimizer)
    : BackpropParameters(model.backend(), optimizer), model_(model), base_(std::move(base)), spec_(spec) {
  Backend& be = model.backend();
  const auto& params = model.parameters();
  for (size_t id = 0; id < params.size(); ++id) {
    const Parameter& p = params[id];
    if (!p.is_matrix_weight || !spec.targets_module(module_of(p.name))) continue;
    Adapter a;
    a.param = int(id);
    a.out = int(p.shape[0]);
    a.in = int(p.shape[1]);
    const std::vector<float> A = kaiming_uniform(spec.rank, a.in, init_seed, uint32_t(id));
    a.A = upload_buffer(be, A.data(), A.size() * sizeof(float), MemoryComponent::Trainable);
    a.B = be.alloc(size_t(a.out) * spec.rank * sizeof(float), MemoryComponent::Trainable);
    be.fill_zero(a.B.data(), a.B.bytes());
    adapters_.push_back(std::move(a));
  }
  if (adapters_.empty()) fail("method.lora_targets: no linear layer of the model matches");
  for (Adapter& a : adapters_) {  // decoupled decay on both factors, as the HF Trainer applies it
    const std::string& name = params[a.param].name;
    const std::string module = name.substr(0, name.size() - std::string(".weight").size());
    add_tensor(module + ".lora_A.weight", a.A.as<float>(), int64_t(spec.rank) * a.in, true);
    add_tensor(module + ".lora_B.weight", a.B.as<float>(), int64_t(a.out) * spec.rank, true);
  }
}

std::string LoraParameters::describe() const {
  std::string targets;
  for (const std::string& t : spec_.targets) targets += (targets.empty() ? "" : ",") + t;
  return std::to_string(size()) + " LoRA values (r " + std::to_string(spec_.rank) + ", alpha " +
         std::to_string(int(spec_.alpha)) + ", " + targets + ") on " + std::to_string(adapters_.size()) + " layers";
}

std::unique_ptr<WeightSource> LoraParameters::source_with_dropout(float dropout, uint64_t seed) const {
  std::vector<LoraAdapter> by_param(model_.parameters().size());
  for (const Adapter& a : adapters_) {
    LoraAdapter& l = by_param[a.param];
    l.A = a.A.as<float>();
    l.B = a.B.as<float>();
    l.rank = spec_.rank;
    l.scale = spec_.scale();
    l.dropout = dropout;
    l.dropout_seed = seed;
  }
  return std::make_unique<AdaptedWeights>(*base_, std::move(by_param));
}

std::unique_ptr<WeightSource> LoraParameters::current() const { return source_with_dropout(0.0f, 0); }

std::unique_ptr<WeightSource> LoraParameters::training_source(uint64_t dropout_seed) const {
  return source_with_dropout(spec_.dropout, dropout_seed);
}

GradientTargets LoraParameters::gradient_targets() {
  GradientTargets g;
  const size_t n = model_.parameters().size();
  g.weights.assign(n, nullptr);
  g.lora_A.assign(n, nullptr);
  g.lora_B.assign(n, nullptr);
  for (size_t i = 0; i < adapters_.size(); ++i) {
    g.lora_A[adapters_[i].param] = tensors()[2 * i].grad;
    g.lora_B[adapters_[i].param] = tensors()[2 * i + 1].grad;
  }
  return g;
}

}  // namespace qzo
