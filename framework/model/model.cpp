// Parameters of the Llama-family decoder under their Hugging Face names: creation,
// random init, HF-folder load/save, and the stored-weights source.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

namespace fs = std::filesystem;

int64_t Parameter::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t Batch::labelled() const {
  int64_t n = 0;
  for (int32_t t : targets) n += t >= 0;
  return n;
}

std::vector<float> read_f32(Backend& be, const WeightOperand& w) {
  Workspace ws(be, MemoryComponent::Workspace);
  return download_vector(be, ops::materialize_f32(be, ws, w), w.numel());
}

std::vector<float> read_weights_f32(const Model& model, const WeightSource& source, int id) {
  return read_f32(model.backend(), source.operand(id));
}

namespace {

// The HF tensor list of a config, in checkpoint order.
std::vector<Parameter> parameter_layout(const ModelConfig& c) {
  std::vector<Parameter> ps;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool matrix) {
    Parameter p;
    p.name = name;
    p.shape = std::move(shape);
    p.is_matrix_weight = matrix;
    ps.push_back(std::move(p));
  };
  const int64_t D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  add("model.embed_tokens.weight", {c.vocab_size, D}, false);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {D}, false);
    add(p + "self_attn.q_proj.weight", {Q, D}, true);
    add(p + "self_attn.k_proj.weight", {KV, D}, true);
    add(p + "self_attn.v_proj.weight", {KV, D}, true);
    if (c.attention_bias) {
      add(p + "self_attn.q_proj.bias", {Q}, false);
      add(p + "self_attn.k_proj.bias", {KV}, false);
      add(p + "self_attn.v_proj.bias", {KV}, false);
    }
    add(p + "self_attn.o_proj.weight", {D, Q}, true);
    add(p + "post_attention_layernorm.weight", {D}, false);
    add(p + "mlp.gate_proj.weight", {F, D}, true);
    add(p + "mlp.up_proj.weight", {F, D}, true);
    add(p + "mlp.down_proj.weight", {D, F}, true);
  }
  add("model.norm.weight", {D}, false);
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, D}, false);
  return ps;
}

bool is_norm(const std::string& name) { return name.find("norm.weight") != std::string::npos; }

// Inverse frequencies with the optional Llama-3 / linear scaling, as HF computes them.
std::vector<double> rope_inv_freq(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<double> inv(half);
  for (int i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(double(c.rope_theta), 2.0 * i / c.head_dim);
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear") {
    for (double& f : inv) f /= rs.factor;
  } else if (rs.type == "llama3") {
    const double old_len = rs.original_max_position_embeddings;
    const double low_wavelen = old_len / rs.low_freq_factor, high_wavelen = old_len / rs.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }
    }
  }
  return inv;
}

}  // namespace

void Model::Impl::build_index() {
  ids.clear();
  for (size_t i = 0; i < params.size(); ++i) ids[params[i].name] = static_cast<int>(i);
  auto id = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it == ids.end()) fail("model: missing tensor '" + name + "'");
    return it->second;
  };
  embed = id("model.embed_tokens.weight");
  final_norm = id("model.norm.weight");
  head = config.tie_word_embeddings ? embed : id("lm_head.weight");
  layers.assign(config.num_hidden_layers, {});
  for (int l = 0; l < config.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerParams& L = layers[l];
    L.input_norm = id(p + "input_layernorm.weight");
    L.q = id(p + "self_attn.q_proj.weight");
    L.k = id(p + "self_attn.k_proj.weight");
    L.v = id(p + "self_attn.v_proj.weight");
    L.o = id(p + "self_attn.o_proj.weight");
    if (config.attention_bias) {
      L.q_bias = id(p + "self_attn.q_proj.bias");
      L.k_bias = id(p + "self_attn.k_proj.bias");
      L.v_bias = id(p + "self_attn.v_proj.bias");
    }
    L.post_norm = id(p + "post_attention_layernorm.weight");
    L.gate = id(p + "mlp.gate_proj.weight");
    L.up = id(p + "mlp.up_proj.weight");
    L.down = id(p + "mlp.down_proj.weight");
  }
  const std::vector<double> inv = rope_inv_freq(config);
  const int half = config.head_dim / 2;
  std::vector<float> cos_table(static_cast<size_t>(config.max_position_embeddings) * half), sin_table(cos_table.size());
  for (int pos = 0; pos < config.max_position_embeddings; ++pos)
    for (int i = 0; i < half; ++i) {
      const double angle = pos * inv[i];
      cos_table[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::cos(angle));
      sin_table[static_cast<size_t>(pos) * half + i] = static_cast<float>(std::sin(angle));
    }
  rope_cos = upload_buffer(*backend, cos_table.data(), cos_table.size() * sizeof(float), MemoryComponent::Weights);
  rope_sin = upload_buffer(*backend, sin_table.data(), sin_table.size() * sizeof(float), MemoryComponent::Weights);
}

const float* Model::Impl::vector(const WeightSource& src, int id) const {
  scratch.reset();
  return ops::materialize_f32(*backend, scratch, src.operand(id));
}

void Model::Impl::linear(const WeightSource& src, int weight, int bias, float* out, const float* inp, int M, int K,
                         int N) const {
  scratch.reset();
  src.observe_input(weight, inp, M, K);
  const float* b = bias >= 0 ? ops::materialize_f32(*backend, scratch, src.operand(bias)) : nullptr;
  ops::linear_forward(*backend, scratch, out, inp, src.operand(weight), b, M, K, N);
  if (const LoraAdapter* a = src.adapter(weight)) lora_forward(*a, weight, out, inp, M, K, N);
}

void Model::Impl::lora_forward(const LoraAdapter& a, int weight, float* out, const float* inp, int M, int K,
                               int N) const {
  Backend& be = *backend;
  const size_t MK = static_cast<size_t>(M) * K;
  const float* x = inp;
  if (a.dropout > 0.0f) {
    float* dropped = scratch.take<float>(MK);
    ops::lora_dropout(be, dropped, inp, int64_t(MK), a.dropout_seed, uint32_t(weight), a.dropout);
    x = dropped;
  }
  float* u = scratch.take<float>(static_cast<size_t>(M) * a.rank);
  float* y = scratch.take<float>(static_cast<size_t>(M) * N);
  ops::matmul_forward(be, u, x, a.A, nullptr, M, K, a.rank);
  ops::matmul_forward(be, y, u, a.B, nullptr, M, a.rank, N);
  ops::scaled_add(be, out, y, int64_t(M) * N, a.scale);
}

void Model::Impl::check_tokens(const int32_t* tokens, size_t n) const {
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size)
      fail("model: token id " + std::to_string(tokens[i]) + " is outside the vocabulary [0, " +
           std::to_string(config.vocab_size) + ")");
}

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const ModelConfig& Model::config() const { return impl_->config; }
Backend& Model::backend() const { return *impl_->backend; }
std::vector<Parameter>& Model::parameters() { return impl_->params; }
const std::vector<Parameter>& Model::parameters() const { return impl_->params; }
const WeightSource& Model::stored_weights() const { return impl_->stored; }
std::unique_ptr<WeightSource> Model::stored_weights_source() const {
  return std::make_unique<StoredWeights>(&impl_->params);
}

int Model::parameter_id(const std::string& name) const {
  auto it = impl_->ids.find(name);
  if (it == impl_->ids.end()) fail("model: no parameter named '" + name + "'");
  return it->second;
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const Parameter& p : impl_->params) n += p.numel();
  return n;
}

namespace {

// A parameter's values: a copy of host bytes on the model's backend.
void set_values(Backend& be, Parameter& p, const void* host, size_t bytes) {
  p.values = upload_buffer(be, host, bytes, MemoryComponent::Weights);
}

}  // namespace

Model Model::empty(const ModelConfig& config, Backend& backend) {
  config.validate("model config");
  auto impl = std::make_unique<Impl>(backend);
  impl->config = config;
  impl->params = parameter_layout(config);
  impl->build_index();
  return Model(std::move(impl));
}

Model Model::init(const ModelConfig& config, uint64_t seed, float init_std, Backend& backend) {
  config.validate("model config");
  auto impl = std::make_unique<Impl>(backend);
  impl->config = config;
  impl->params = parameter_layout(config);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, init_std);
  // Residual projections are scaled down by 1/sqrt(2·layers) (GPT-2), which keeps the
  // residual stream's variance flat across depth at init.
  const float residual_scale = 1.0f / std::sqrt(2.0f * config.num_hidden_layers);
  for (Parameter& p : impl->params) {
    p.dtype = DType::F32;
    std::vector<float> host(static_cast<size_t>(p.numel()));
    float* w = host.data();
    const bool residual_out = p.name.find("o_proj.weight") != std::string::npos ||
                              p.name.find("down_proj.weight") != std::string::npos;
    for (int64_t i = 0; i < p.numel(); ++i) {
      if (is_norm(p.name)) w[i] = 1.0f;
      else if (p.shape.size() == 1) w[i] = 0.0f;
      else w[i] = normal(rng) * (residual_out ? residual_scale : 1.0f);
    }
    set_values(backend, p, host.data(), host.size() * sizeof(float));
  }
  impl->build_index();
  return Model(std::move(impl));
}

Model Model::load(const std::string& dir, DType storage, Backend& backend, bool skip_matrix_weights) {
  if (storage != DType::F32 && storage != DType::BF16 && storage != DType::F16)
    fail(dir + ": weights can be kept as F32, BF16 or F16, not " + dtype_name(storage));
  auto impl = std::make_unique<Impl>(backend);
  impl->config = ModelConfig::from_file(dir + "/config.json");
  impl->params = parameter_layout(impl->config);
  SafetensorsReader reader = SafetensorsReader::open(dir);
  for (Parameter& p : impl->params) {
    const std::string name = p.name;
    p.dtype = storage;
    if (skip_matrix_weights && p.is_matrix_weight) continue;
    const TensorView& t = reader.get(name, p.shape);
    if (t.dtype != DType::F32 && t.dtype != DType::BF16 && t.dtype != DType::F16)
      fail(reader.file_of(name) + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) +
           ", expected F32, BF16 or F16");
    const size_t bytes = static_cast<size_t>(p.numel()) * dtype_size(storage);
    if (t.dtype == storage) {
      set_values(backend, p, t.data, bytes);
    } else {
      std::vector<float> tmp(static_cast<size_t>(p.numel()));
      convert_to_f32(t.dtype, t.data, tmp.data(), tmp.size());
      std::vector<uint8_t> stored(bytes);
      convert_from_f32(storage, tmp.data(), stored.data(), tmp.size());
      set_values(backend, p, stored.data(), bytes);
    }
  }
  impl->build_index();
  return Model(std::move(impl));
}

void Model::save(const std::string& dir) const { save(dir, DType::F32); }

void Model::save(const std::string& dir, DType as) const {
  fs::create_directories(dir);
  std::vector<std::vector<uint8_t>> host(impl_->params.size());
  std::vector<TensorView> views;
  for (size_t i = 0; i < impl_->params.size(); ++i) {
    const Parameter& p = impl_->params[i];
    host[i] = download_bytes(*impl_->backend, p.values);
    if (p.dtype != as) {
      std::vector<float> tmp(static_cast<size_t>(p.numel()));
      convert_to_f32(p.dtype, host[i].data(), tmp.data(), tmp.size());
      host[i].resize(tmp.size() * dtype_size(as));
      convert_from_f32(as, tmp.data(), host[i].data(), tmp.size());
    }
    TensorView v;
    v.name = p.name;
    v.shape = p.shape;
    v.dtype = as;
    v.data = host[i].data();
    v.nbytes = host[i].size();
    views.push_back(std::move(v));
  }
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}});
  ModelConfig c = impl_->config;
  c.torch_dtype = as == DType::BF16 ? "bfloat16" : as == DType::F16 ? "float16" : "float32";
  write_text_file_atomically(dir + "/config.json", c.to_json().dump(2) + "\n");
}

Gradients::Gradients(const Model& model) : backend_(&model.backend()) {
  if (!backend_->is_host()) fail("model: backprop gradients live on the CPU backend, not on " + backend_->name());
  for (const Parameter& p : model.parameters())
    grads_.push_back(backend_->alloc(static_cast<size_t>(p.numel()) * sizeof(float), MemoryComponent::Gradients));
  zero();
}

GradientTargets Gradients::targets() {
  GradientTargets t;
  for (Buffer& g : grads_) t.weights.push_back(g.as<float>());
  return t;
}

void Gradients::zero() {
  for (Buffer& g : grads_) backend_->fill_zero(g.data(), g.bytes());
}

std::vector<float> Gradients::of(int id) const {
  return download_vector(*backend_, data(id), grads_[id].bytes() / sizeof(float));
}

double Gradients::global_norm() const {
  double sum = 0.0;
  for (const Buffer& g : grads_) {
    const float* x = g.as<float>();
    for (size_t i = 0; i < g.bytes() / sizeof(float); ++i) sum += double(x[i]) * x[i];
  }
  return std::sqrt(sum);
}

void Gradients::scale(float factor) {
  for (Buffer& g : grads_) {
    float* x = g.as<float>();
    for (size_t i = 0; i < g.bytes() / sizeof(float); ++i) x[i] *= factor;
  }
}

}  // namespace qzo
