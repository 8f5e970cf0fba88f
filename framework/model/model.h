// A Llama-family decoder on a compute backend: parameters under their Hugging Face names in
// the backend's memory, forward and hand-written backward (llm.c style) on any backend,
// and HF-folder load/save.
//
// The forward pass reads every parameter through a WeightSource as a WeightOperand, so that
// a method can change what the model sees without touching stored weights: QZO hands out
// quantized views with perturbed scales, MeZO dense views with ±εz applied where they are
// read. Stored weights are never modified by a forward pass.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "framework/core/dtype.h"
#include "framework/model/config.h"
#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo {

struct Parameter {
  std::string name;              // HF name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  DType dtype = DType::F32;      // storage: F32, BF16 or F16
  Buffer values;                 // numel * dtype_size(dtype) bytes on the model's backend
  bool is_matrix_weight = false; // a linear layer's weight (what a quantizer replaces)
  int64_t numel() const;
  size_t nbytes() const { return values.bytes(); }
  // Backend memory (host memory on the CPU backend).
  const float* f32() const { return values.as<float>(); }
  float* f32() { return values.as<float>(); }
  WeightOperand operand() const { return WeightOperand::of_dense(dtype, values.data(), size_t(numel())); }
};

// A LoRA adapter on a linear layer: out += scale · B A dropout(x) with A [rank, in] and
// B [out, rank] fp32 in the model backend's memory. Dropout (inverted, its mask drawn from
// (dropout_seed, the layer's parameter id, element)) is for training passes only.
struct LoraAdapter {
  const float* A = nullptr;
  const float* B = nullptr;
  int rank = 0;
  float scale = 0.0f;  // α / r
  float dropout = 0.0f;
  uint64_t dropout_seed = 0;
};

// What a forward pass reads parameters through.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // How parameter `id` is read: its stored values or a quantized view, each possibly with a
  // perturbation. The pointers stay valid while the source and the model live.
  virtual WeightOperand operand(int id) const = 0;
  // The adapter added to linear weight `id`'s output, if any (QLoRA).
  virtual const LoraAdapter* adapter(int id) const {
    (void)id;
    return nullptr;
  }
  // Sees the input [M, K] (backend memory) of linear weight `id` before the forward applies
  // it: GPTQ's calibration accumulates each layer's Hessian here.
  virtual void observe_input(int id, const float* inp, int M, int K) const {
    (void)id, (void)inp, (void)M, (void)K;
  }
};

// Where backprop accumulates (+=) its gradients, per parameter id; null where frozen
// (QLoRA's base, whose gradient is never formed). lora_A/lora_B are empty, or hold the
// adapter factors' gradients of the parameters whose adapters train.
struct GradientTargets {
  std::vector<float*> weights;
  std::vector<float*> lora_A, lora_B;
  float* weight(int id) const { return id >= 0 && size_t(id) < weights.size() ? weights[id] : nullptr; }
};

// The loss on a pass's labelled rows: given their logits [R, V] in host memory (a device
// backend's are copied down, and their gradient back up), returns the rows' summed loss and
// overwrites the logits with its gradient.
using HeadLoss = std::function<double(float* logits, int R, int V)>;

struct BackpropOptions {
  // Keep only each layer's input and recompute the layer in the backward: activations of
  // one layer instead of all, for one more forward.
  bool activation_checkpointing = false;
};


// One batch of B rows of T tokens. targets[b*T+t] is the token predicted at position t
// (usually tokens[b*T+t+1]), or -1 where no loss is taken (prompt, padding).
struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> tokens;
  std::vector<int32_t> targets;
  int64_t labelled() const;  // number of targets != -1
};

// Summed negative log-likelihood (natural log) over labelled positions, per row and total.
// Sums, not means, so that data-parallel ranks can add them exactly.
struct LossSums {
  std::vector<double> row_loss;
  std::vector<int64_t> row_count;
  double total_loss = 0;
  int64_t total_count = 0;
  double mean() const { return total_count ? total_loss / double(total_count) : 0.0; }
};

class Gradients;  // fp32 gradient per parameter (model.cpp)

class Model {
 public:
  // Random init (normal(0, init_std), norms 1, biases 0), deterministic for `seed`.
  static Model init(const ModelConfig& config, uint64_t seed, float init_std = 0.02f,
                    Backend& backend = cpu_backend());
  // Loads an HF folder (config.json + model.safetensors or sharded index); weights are
  // converted to `storage` (F32, BF16, F16). Errors name the file and the tensor.
  // With `skip_matrix_weights`, linear weights are left empty (a quantized checkpoint holds them).
  static Model load(const std::string& dir, DType storage = DType::F32, Backend& backend = cpu_backend(),
                    bool skip_matrix_weights = false);
  // The layout of `config` with every tensor empty (a quantizer fills what it needs).
  static Model empty(const ModelConfig& config, Backend& backend = cpu_backend());
  // Writes config.json + model.safetensors (in each parameter's storage dtype, or `as`).
  void save(const std::string& dir) const;
  void save(const std::string& dir, DType as) const;

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelConfig& config() const;
  Backend& backend() const;
  std::vector<Parameter>& parameters();
  const std::vector<Parameter>& parameters() const;
  int parameter_id(const std::string& name) const;  // throws naming the tensor
  int64_t num_parameters() const;
  // The default source: stored weights (fp32 as is, bf16/fp16 converted into scratch).
  const WeightSource& stored_weights() const;
  // The same as an owned source, for callers that hand out sources (methods, trainers).
  std::unique_ptr<WeightSource> stored_weights_source() const;

  // Loss at labelled positions; keeps only one layer's activations (inference memory).
  // The LM head runs only on labelled rows.
  LossSums forward_loss(const Batch& batch, const WeightSource* source = nullptr) const;
  // Log-probabilities of the token ids `candidates` at every labelled position, row-major
  // [labelled positions, candidates.size()], from the same single pass as forward_loss.
  // Scores single-token verbalizers (spam/ham, great/terrible) with one row per example.
  std::vector<float> forward_candidate_logprobs(const Batch& batch, const std::vector<int32_t>& candidates,
                                                const WeightSource* source = nullptr) const;
  // Full logits [B*T, vocab] (tests, evaluation of small batches).
  std::vector<float> forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                    const WeightSource* source = nullptr) const;
  // Training: loss and gradients of the summed loss scaled by `loss_scale`
  // (e.g. 1/labelled for the mean), accumulated into grads. fp32 storage, CPU backend only.
  LossSums forward_backward(const Batch& batch, Gradients& grads, float loss_scale);
  // Backprop of `head`'s loss on the labelled rows, every weight (and adapter) read through
  // `source`, gradients accumulated into `targets`; returns the summed loss. A frozen
  // quantized layer is dequantized one at a time, in the forward and again in the backward.
  // Runs where the backward ops do: the CPU, and CUDA through their twins (kernels/cuda/).
  double backprop(const Batch& batch, const WeightSource& source, const HeadLoss& head, const GradientTargets& targets,
                  const BackpropOptions& options = {}) const;

  struct Impl;  // defined in model_impl.h, for the model's own files and generation

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Gradients;
  friend class Generator;
};

// fp32 gradient per parameter, zeroed, in the model backend's memory tagged as gradients
// (backprop runs on the CPU backend).
class Gradients {
 public:
  explicit Gradients(const Model& model);
  void zero();
  float* data(int id) { return grads_[id].as<float>(); }
  const float* data(int id) const { return grads_[id].as<float>(); }
  std::vector<float> of(int id) const;  // a host copy
  GradientTargets targets();            // every parameter trains
  double global_norm() const;
  void scale(float factor);

 private:
  Backend* backend_;
  std::vector<Buffer> grads_;
};

// A host fp32 copy of what an operand reads as (tests, quantization, export).
std::vector<float> read_f32(Backend& backend, const WeightOperand& w);
// The same for parameter `id` of `model` read through `source`.
std::vector<float> read_weights_f32(const Model& model, const WeightSource& source, int id);

}  // namespace qzo
