// Internals shared by the model's files (parameters, forward/backward, generation).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "framework/model/model.h"

namespace qzo {

struct LayerParams {
  int input_norm, q, k, v, o, q_bias = -1, k_bias = -1, v_bias = -1, post_norm, gate, up, down;
};

// Reads stored parameters as they are (dense operands of their storage dtype).
class StoredWeights final : public WeightSource {
 public:
  explicit StoredWeights(const std::vector<Parameter>* params) : params_(params) {}
  WeightOperand operand(int id) const override { return (*params_)[id].operand(); }

 private:
  const std::vector<Parameter>* params_;
};

// Activations of one decoder layer, slices of an activation arena. Inference takes one set
// for every layer; training takes one per layer for the backward pass (keep: x_in, x_mid, probs).
struct LayerActivations {
  float *x_in = nullptr, *h1, *rstd1, *q, *probs = nullptr, *att, *x_mid = nullptr, *h2, *rstd2, *gate, *up, *act;
};

// The labelled rows of a batch, in row-major order, and what they predict.
struct LabelledRows {
  std::vector<int32_t> rows, targets;
  int R() const { return static_cast<int>(rows.size()); }
};

struct Model::Impl {
  explicit Impl(Backend& b)
      : backend(&b), acts(b, MemoryComponent::Activations), scratch(b, MemoryComponent::Workspace) {}

  Backend* backend;
  ModelConfig config;
  std::vector<Parameter> params;
  std::unordered_map<std::string, int> ids;
  std::vector<LayerParams> layers;
  int embed = -1, final_norm = -1, head = -1;  // head == embed when tied
  Buffer rope_cos, rope_sin;                   // [max_position_embeddings, head_dim/2]
  StoredWeights stored{&params};
  // A Model runs one pass at a time: the arenas are reset at each pass (acts) and before each
  // weight read (scratch: one layer's weight lives at a time).
  mutable Workspace acts, scratch;

  void build_index();  // ids, layers, rope tables; checks names and shapes
  LayerActivations take_layer_activations(Workspace& arena, int B, int Tq, int Tk, bool keep) const;
  // A weight read for one op: scratch is reset, so the result lives until the next read.
  const float* vector(const WeightSource& src, int id) const;
  // out[M,N] = inp · W^T (+ bias) with W and the bias read through src.
  void linear(const WeightSource& src, int weight, int bias, float* out, const float* inp, int M, int K,
              int N) const;

  // One decoder layer on x[B*Tq, D] in place. New keys/values are written at k_all/v_all
  // + (Tk − Tq) rows ([B, Tk, kv_dim] with B == 1 or Tk == Tq). With keep, the residual
  // inputs and attention probabilities are kept in `a` for the backward.
  void layer_forward(int l, const WeightSource& src, float* x, int B, int Tq, int Tk, const int32_t* positions,
                     float* k_all, float* v_all, const LayerActivations& a, bool keep) const;
  void check_tokens(const int32_t* tokens, size_t n) const;
  // out[M,N] += scale · B A dropout(inp): the adapter's two thin matmuls, in scratch.
  void lora_forward(const LoraAdapter& a, int weight, float* out, const float* inp, int M, int K, int N) const;
};

// A host vector copied into an arena slice on the backend (token ids, positions, row lists).
template <typename T>
T* upload_to(Workspace& arena, Backend& be, const std::vector<T>& host) {
  T* p = arena.take<T>(host.size());
  if (!host.empty()) be.upload(p, host.data(), host.size() * sizeof(T));
  return p;
}

// Positions 0..T-1 of each of B rows.
std::vector<int32_t> row_positions(int B, int T);
LabelledRows labelled_rows(const Model::Impl& m, const Batch& batch);
// Per-row and total sums of the labelled rows' losses.
LossSums sum_losses(const std::vector<float>& loss, const LabelledRows& l, const Batch& batch);

}  // namespace qzo
