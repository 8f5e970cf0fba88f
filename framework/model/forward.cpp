// The decoder's forward pass (inference and training) and its hand-written backward, one
// model for every backend: activations are slices of the model's arena on its backend, and
// only the per-row losses (or the asked-for logits) come back to the host.
// Inference keeps one layer's activations; the LM head runs only on labelled rows.
#include <algorithm>
#include <cstring>

#include "framework/core/error.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

LayerActivations Model::Impl::take_layer_activations(Workspace& arena, int B, int Tq, int Tk, bool keep) const {
  const ModelConfig& c = config;
  const size_t N = static_cast<size_t>(B) * Tq, D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim();
  LayerActivations a;
  a.h1 = arena.take<float>(N * D);
  a.rstd1 = arena.take<float>(N);
  a.q = arena.take<float>(N * Q);
  a.att = arena.take<float>(N * Q);
  a.h2 = arena.take<float>(N * D);
  a.rstd2 = arena.take<float>(N);
  a.gate = arena.take<float>(N * F);
  a.up = arena.take<float>(N * F);
  a.act = arena.take<float>(N * F);
  if (keep) {
    a.x_in = arena.take<float>(N * D);
    a.x_mid = arena.take<float>(N * D);
    a.probs = arena.take<float>(static_cast<size_t>(B) * c.num_attention_heads * Tq * Tk);
  }
  return a;
}

void Model::Impl::layer_forward(int l, const WeightSource& src, float* x, int B, int Tq, int Tk,
                                const int32_t* positions, float* k_all, float* v_all, const LayerActivations& a,
                                bool keep) const {
  const ModelConfig& c = config;
  const LayerParams& L = layers[l];
  Backend& be = *backend;
  const int N = B * Tq, D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  const size_t ND = static_cast<size_t>(N) * D;
  if (B > 1 && Tk != Tq) fail("model: cached attention supports one sequence at a time");
  if (keep) be.copy(a.x_in, x, ND * sizeof(float));

  ops::rmsnorm_forward(be, a.h1, a.rstd1, x, vector(src, L.input_norm), N, D, c.rms_norm_eps);
  float* k_new = k_all + static_cast<size_t>(Tk - Tq) * KV;
  float* v_new = v_all + static_cast<size_t>(Tk - Tq) * KV;
  linear(src, L.q, L.q_bias, a.q, a.h1, N, D, Q);
  linear(src, L.k, L.k_bias, k_new, a.h1, N, D, KV);
  linear(src, L.v, L.v_bias, v_new, a.h1, N, D, KV);
  const float *cos_table = rope_cos.as<float>(), *sin_table = rope_sin.as<float>();
  ops::rope_forward(be, a.q, positions, cos_table, sin_table, N, c.num_attention_heads, c.head_dim);
  ops::rope_forward(be, k_new, positions, cos_table, sin_table, N, c.num_key_value_heads, c.head_dim);
  scratch.reset();
  ops::attention_forward(be, scratch, a.att, keep ? a.probs : nullptr, a.q, k_all, v_all, B, Tq, Tk,
                         c.num_attention_heads, c.num_key_value_heads, c.head_dim);
  // The attention output projection goes through h2 as a temporary before the residual add.
  linear(src, L.o, -1, a.h2, a.att, N, Q, D);
  ops::residual_add(be, x, a.h2, static_cast<int64_t>(ND));
  if (keep) be.copy(a.x_mid, x, ND * sizeof(float));

  ops::rmsnorm_forward(be, a.h2, a.rstd2, x, vector(src, L.post_norm), N, D, c.rms_norm_eps);
  linear(src, L.gate, -1, a.gate, a.h2, N, D, F);
  linear(src, L.up, -1, a.up, a.h2, N, D, F);
  ops::swiglu_forward(be, a.act, a.gate, a.up, static_cast<int64_t>(N) * F);
  // x += act · Wdown^T, via h1 (free by now) as the temporary.
  linear(src, L.down, -1, a.h1, a.act, N, F, D);
  ops::residual_add(be, x, a.h1, static_cast<int64_t>(ND));
}

std::vector<int32_t> row_positions(int B, int T) {
  std::vector<int32_t> pos(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) pos[static_cast<size_t>(b) * T + t] = t;
  return pos;
}

LabelledRows labelled_rows(const Model::Impl& m, const Batch& batch) {
  LabelledRows l;
  for (int i = 0; i < batch.B * batch.T; ++i)
    if (batch.targets[i] >= 0) {
      l.rows.push_back(i);
      l.targets.push_back(batch.targets[i]);
    }
  m.check_tokens(l.targets.data(), l.targets.size());
  return l;
}

LossSums sum_losses(const std::vector<float>& loss, const LabelledRows& l, const Batch& batch) {
  LossSums out;
  out.row_loss.assign(batch.B, 0.0);
  out.row_count.assign(batch.B, 0);
  for (int r = 0; r < l.R(); ++r) {
    const int b = l.rows[r] / batch.T;
    out.row_loss[b] += loss[r];
    out.row_count[b] += 1;
    out.total_loss += loss[r];
  }
  out.total_count = l.R();
  return out;
}

namespace {



// A pass's embedding + all layers with one reused set of activations, in m.acts (reset here).
struct Hidden {
  float* x;                // the final residual stream [B*T, D]
  const int32_t* tokens;   // on the backend
  const int32_t* positions;
};

Hidden hidden_states(const Model::Impl& m, const std::vector<int32_t>& tokens, int B, int T, const WeightSource& src) {
  const ModelConfig& c = m.config;
  if (T > c.max_position_embeddings)
    fail("model: sequence length " + std::to_string(T) + " exceeds max_position_embeddings " +
         std::to_string(c.max_position_embeddings));
  m.check_tokens(tokens.data(), tokens.size());
  Backend& be = *m.backend;
  Workspace& acts = m.acts;
  acts.reset();
  const int N = B * T;
  Hidden h;
  h.tokens = upload_to(acts, be, tokens);
  h.positions = upload_to(acts, be, row_positions(B, T));
  h.x = acts.take<float>(static_cast<size_t>(N) * c.hidden_size);
  float* k = acts.take<float>(static_cast<size_t>(N) * c.kv_dim());
  float* v = acts.take<float>(static_cast<size_t>(N) * c.kv_dim());
  const LayerActivations a = m.take_layer_activations(acts, B, T, T, false);
  ops::embedding_lookup(be, h.x, h.tokens, src.operand(m.embed), N, c.hidden_size);
  for (int l = 0; l < c.num_hidden_layers; ++l) m.layer_forward(l, src, h.x, B, T, T, h.positions, k, v, a, false);
  return h;
}

// What the LM head leaves on the backend for the labelled rows.
struct Head {
  float* logits;  // [R, V]
  float* loss;    // [R]
  const int32_t* targets;
};

// Final norm + LM head + log-sum-exp on the labelled rows of the final hidden states.
Head labelled_head(const Model::Impl& m, const Batch& batch, const LabelledRows& l, const WeightSource& src) {
  const ModelConfig& c = m.config;
  Backend& be = *m.backend;
  const Hidden hidden = hidden_states(m, batch.tokens, batch.B, batch.T, src);
  Workspace& acts = m.acts;
  const int R = l.R(), D = c.hidden_size, V = c.vocab_size;
  const int32_t* rows = upload_to(acts, be, l.rows);
  Head head;
  head.targets = upload_to(acts, be, l.targets);
  float* xs = acts.take<float>(static_cast<size_t>(R) * D);
  float* h = acts.take<float>(static_cast<size_t>(R) * D);
  head.logits = acts.take<float>(static_cast<size_t>(R) * V);
  head.loss = acts.take<float>(R);
  ops::gather_rows(be, xs, hidden.x, rows, R, D);
  ops::rmsnorm_forward(be, h, nullptr, xs, m.vector(src, m.final_norm), R, D, c.rms_norm_eps);
  m.linear(src, m.head, -1, head.logits, h, R, D, V);
  ops::cross_entropy_forward_backward(be, head.loss, head.logits, head.targets, R, V, nullptr);
  return head;
}

}  // namespace

LossSums Model::forward_loss(const Batch& batch, const WeightSource* source) const {
  const Impl& m = *impl_;
  const LabelledRows l = labelled_rows(m, batch);
  const Head head = labelled_head(m, batch, l, source ? *source : m.stored);
  return sum_losses(download_vector(*m.backend, head.loss, l.rows.size()), l, batch);
}

std::vector<float> Model::forward_candidate_logprobs(const Batch& batch, const std::vector<int32_t>& candidates,
                                                     const WeightSource* source) const {
  const Impl& m = *impl_;
  m.check_tokens(candidates.data(), candidates.size());
  const LabelledRows l = labelled_rows(m, batch);
  const Head head = labelled_head(m, batch, l, source ? *source : m.stored);
  Backend& be = *m.backend;
  const int R = l.R(), C = static_cast<int>(candidates.size());
  const int32_t* cand = upload_to(m.acts, be, candidates);
  float* out = m.acts.take<float>(static_cast<size_t>(R) * C);
  ops::candidate_logprobs(be, out, head.logits, head.loss, head.targets, cand, R, m.config.vocab_size, C);
  return download_vector(be, out, static_cast<size_t>(R) * C);
}

std::vector<float> Model::forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                         const WeightSource* source) const {
  const Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const WeightSource& src = source ? *source : m.stored;
  Backend& be = *m.backend;
  const Hidden hidden = hidden_states(m, tokens, B, T, src);
  const int N = B * T;
  float* h = m.acts.take<float>(static_cast<size_t>(N) * c.hidden_size);
  float* logits = m.acts.take<float>(static_cast<size_t>(N) * c.vocab_size);
  ops::rmsnorm_forward(be, h, nullptr, hidden.x, m.vector(src, m.final_norm), N, c.hidden_size, c.rms_norm_eps);
  m.linear(src, m.head, -1, logits, h, N, c.hidden_size, c.vocab_size);
  return download_vector(be, logits, static_cast<size_t>(N) * c.vocab_size);
}

}  // namespace qzo
