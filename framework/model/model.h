// A Llama-family decoder on a compute backend: parameters under their Hugging Face names in
// the backend's memory, forward (any backend) and hand-written backward (llm.c style, CPU),
// and HF-folder load/save.
//
// The forward pass reads every parameter through a WeightSource as a WeightOperand, so that
// a method can change what the model sees without touching stored weights: QZO hands out
// quantized views with perturbed scales, MeZO dense views with ±εz applied where they are
// read. Stored weights are never modified by a forward pass.
#pragma once
#include <cstdint>
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

// What a forward pass reads parameters through.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // How parameter `id` is read: its stored values or a quantized view, each possibly with a
  // perturbation. The pointers stay valid while the source and the model live.
  virtual WeightOperand operand(int id) const = 0;
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
  LossSums forward_backward(const Batch& batch, Gradients& grads, float loss_scale) ;

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
