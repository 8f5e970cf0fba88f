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

// Reads stored parameters: fp32 storage is returned in place, bf16/fp16 converted into scratch.
class StoredWeights final : public WeightSource {
 public:
  explicit StoredWeights(const std::vector<Parameter>* params) : params_(params) {}
  const float* read(int id, float* scratch) const override;

 private:
  const std::vector<Parameter>* params_;
};

// Activations of one decoder layer. Inference reuses one set for every layer; training
// keeps one per layer for the backward pass.
struct LayerActivations {
  std::vector<float> x_in, h1, rstd1, q, k, v, probs, att, x_mid, h2, rstd2, gate, up, act;
};

// Scratch for parameters read through a WeightSource: one matrix and one vector live at a time.
struct WeightScratch {
  std::vector<float> matrix, vector;
};

// Buffers reused across passes: allocating (and page-faulting) them anew each step cost
// a third of a training step's time.
struct Workspace {
  WeightScratch scratch;
  LayerActivations acts;  // the inference pass's single layer
  std::vector<float> x, k, v, xs, h, rstd, logits, loss;
  std::vector<float> dh, dxs, dx, dtmp, dact, dgate, dup, datt, dq, dk, dv;
  std::vector<int32_t> positions, rows, targets;
};

struct Model::Impl {
  ModelConfig config;
  std::vector<Parameter> params;
  std::unordered_map<std::string, int> ids;
  std::vector<LayerParams> layers;
  int embed = -1, final_norm = -1, head = -1;  // head == embed when tied
  std::vector<float> rope_cos, rope_sin;       // [max_position_embeddings, head_dim/2]
  StoredWeights stored{&params};
  int64_t max_matrix = 0, max_vector = 0;
  std::vector<LayerActivations> train_acts;    // kept between training steps to avoid reallocation
  mutable Workspace ws;                        // a Model runs one pass at a time

  void build_index();  // ids, layers, rope tables, scratch sizes; checks names and shapes
  WeightScratch make_scratch() const;
  void ensure_scratch(WeightScratch& s) const;
  const float* read(const WeightSource& src, int id, WeightScratch& s) const;

  // One decoder layer on x[B*Tq, D] in place. New keys/values are written at k_all/v_all
  // + (Tk − Tq) rows ([B, Tk, kv_dim] with B == 1 or Tk == Tq). With keep, the residual
  // inputs and attention probabilities are kept in `a` for the backward.
  void layer_forward(int l, const WeightSource& src, WeightScratch& s, float* x, int B, int Tq, int Tk,
                     const int32_t* positions, float* k_all, float* v_all, LayerActivations& a, bool keep) const;
  void check_tokens(const int32_t* tokens, size_t n) const;
};

}  // namespace qzo
