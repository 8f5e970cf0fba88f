// Quantizing a model's linear layers in place of their fp32 weights, the dequantizing
// weight source QZO's two forward passes read through, and memory accounting.
#include "framework/quant/quantized_model.h"

#include <utility>

#include "framework/core/error.h"

namespace qzo {

QuantizedModel::QuantizedModel(Model model, const QuantSpec& spec, std::vector<QuantizedLinear> layers)
    : model_(std::move(model)), spec_(spec), layers_(std::move(layers)) {
  const std::vector<Parameter>& params = model_.parameters();
  layer_of_param_.assign(params.size(), -1);
  for (size_t id = 0; id < params.size(); ++id) {
    if (!params[id].is_matrix_weight) continue;
    layer_of_param_[id] = static_cast<int>(param_of_layer_.size());
    param_of_layer_.push_back(static_cast<int>(id));
  }
  if (param_of_layer_.size() != layers_.size())
    fail("quantized model: " + std::to_string(layers_.size()) + " quantized layers for " +
         std::to_string(param_of_layer_.size()) + " linear weights");
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Parameter& p = params[param_of_layer_[l]];
    if (p.shape.size() != 2 || layers_[l].out_features() != p.shape[0] || layers_[l].in_features() != p.shape[1])
      fail(p.name + ": quantized layer is [" + std::to_string(layers_[l].out_features()) + ", " +
           std::to_string(layers_[l].in_features()) + "], the parameter is " +
           (p.shape.size() == 2 ? "[" + std::to_string(p.shape[0]) + ", " + std::to_string(p.shape[1]) + "]"
                                : "not a matrix"));
  }
}

namespace {

// "model.layers.3.mlp.up_proj.weight" → "model.layers.3"; a weight outside the decoder
// layers is a block of its own.
std::string block_of(const std::string& name) {
  const size_t at = name.find("layers.");
  const size_t dot = at == std::string::npos ? std::string::npos : name.find('.', at + 7);
  return dot == std::string::npos ? name : name.substr(0, dot);
}

// The linear weights of each decoder layer, in parameter order.
std::vector<std::vector<int>> decoder_blocks(const Model& model) {
  std::vector<std::vector<int>> blocks;
  std::string current;
  const std::vector<Parameter>& params = model.parameters();
  for (size_t id = 0; id < params.size(); ++id) {
    if (!params[id].is_matrix_weight) continue;
    const std::string block = block_of(params[id].name);
    if (blocks.empty() || block != current) blocks.emplace_back();
    current = block;
    blocks.back().push_back(static_cast<int>(id));
  }
  return blocks;
}

// Stored weights, except for the layers quantized so far, which read dequantized.
class PartlyQuantized final : public WeightSource {
 public:
  PartlyQuantized(const Model& model, const std::vector<int>& layer_of, const std::vector<QuantizedLinear>& done)
      : model_(model), layer_of_(layer_of), done_(done) {}
  WeightOperand operand(int id) const override {
    const int l = layer_of_[size_t(id)];
    if (l >= 0 && size_t(l) < done_.size()) return WeightOperand::of_quantized(done_[size_t(l)].view());
    return model_.parameters()[size_t(id)].operand();
  }

 private:
  const Model& model_;
  const std::vector<int>& layer_of_;
  const std::vector<QuantizedLinear>& done_;
};

QuantizedLinear quantize_parameter(const Model& model, int id, const QuantSpec& spec,
                                   const LayerCalibration* calibration) {
  const Parameter& p = model.parameters()[size_t(id)];
  if (p.shape.size() != 2) fail(p.name + ": a linear weight must be a matrix");
  const std::vector<float> W = read_weights_f32(model, model.stored_weights(), id);
  return QuantizedLinear::quantize(W.data(), static_cast<int>(p.shape[0]), static_cast<int>(p.shape[1]), spec, p.name,
                                   model.backend(), calibration);
}

}  // namespace

QuantizedModel QuantizedModel::quantize(Model model, const QuantSpec& spec, const CalibrationSet* calibration) {
  spec.validate();
  if (spec.calibrated() && !calibration)
    fail("quant.method: " + quant_method_name(spec.method) + " needs calibration data (quant.calibration_samples)");
  std::vector<Parameter>& params = model.parameters();
  std::vector<QuantizedLinear> layers;
  if (!spec.calibrated()) {
    for (size_t id = 0; id < params.size(); ++id) {
      if (!params[id].is_matrix_weight) continue;
      layers.push_back(quantize_parameter(model, static_cast<int>(id), spec, nullptr));
      params[id].values.reset();  // release the full-precision copy: the codes are now the weight
    }
    return from_layers(std::move(model), spec, std::move(layers));
  }
  std::vector<int> layer_of(params.size(), -1);
  int next = 0;
  for (size_t id = 0; id < params.size(); ++id)
    if (params[id].is_matrix_weight) layer_of[id] = next++;
  for (const std::vector<int>& block : decoder_blocks(model)) {
    const PartlyQuantized source(model, layer_of, layers);
    const std::vector<LayerCalibration> hessians = collect_hessians(model, source, block, *calibration);
    for (size_t i = 0; i < block.size(); ++i) layers.push_back(quantize_parameter(model, block[i], spec, &hessians[i]));
  }
  return from_layers(std::move(model), spec, std::move(layers));  // frees the stored weights
}

QuantizedModel QuantizedModel::from_layers(Model model, const QuantSpec& spec, std::vector<QuantizedLinear> layers) {
  spec.validate();
  for (const QuantizedLinear& L : layers)
    if (&L.backend() != &model.backend())
      fail("quantized model: a layer on " + L.backend().name() + " for a model on " + model.backend().name());
  for (Parameter& p : model.parameters())
    if (p.is_matrix_weight) p.values.reset();
  return QuantizedModel(std::move(model), spec, std::move(layers));  // checks count and shapes
}

int QuantizedModel::layer_of(int param_id) const {
  if (param_id < 0 || static_cast<size_t>(param_id) >= layer_of_param_.size())
    fail("quantized model: parameter id " + std::to_string(param_id) + " is out of range");
  return layer_of_param_[param_id];
}

int QuantizedModel::param_of(int layer) const {
  if (layer < 0 || static_cast<size_t>(layer) >= param_of_layer_.size())
    fail("quantized model: layer " + std::to_string(layer) + " is out of range [0, " +
         std::to_string(param_of_layer_.size()) + ")");
  return param_of_layer_[layer];
}

size_t QuantizedModel::num_scales() const {
  size_t n = 0;
  for (const QuantizedLinear& L : layers_) n += L.num_scales();
  return n;
}

size_t QuantizedModel::weight_bytes() const {
  size_t n = 0;
  for (const QuantizedLinear& L : layers_) n += L.storage_bytes();
  const std::vector<Parameter>& params = model_.parameters();
  for (size_t id = 0; id < params.size(); ++id)
    if (layer_of_param_[id] < 0) n += params[id].nbytes();
  return n;
}

// A double-quantized base (QLoRA's) is frozen: its absmax are 8-bit codes, not trainable scales.
size_t QuantizedModel::trainable_bytes() const { return spec_.double_quant ? 0 : num_scales() * sizeof(float); }

LossSums QuantizedModel::forward_loss(const Batch& batch, const std::optional<Perturbation>& perturbation) const {
  const QuantizedWeights source(*this, perturbation);
  return model_.forward_loss(batch, &source);
}

std::vector<float> QuantizedModel::forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                                  const std::optional<Perturbation>& perturbation) const {
  const QuantizedWeights source(*this, perturbation);
  return model_.forward_logits(tokens, B, T, &source);
}

WeightOperand QuantizedWeights::operand(int id) const {
  const int l = model_->layer_of(id);
  if (l < 0) return model_->model().parameters()[id].operand();
  const WeightOperand w = WeightOperand::of_quantized(model_->layers()[l].view());
  if (!perturbation_) return w;
  return w.with_perturbation(
      {perturbation_->seed, static_cast<uint32_t>(l), perturbation_->signed_eps, perturbation_->multiplicative});
}

}  // namespace qzo
