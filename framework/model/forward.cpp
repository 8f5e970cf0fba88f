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

namespace {

template <typename T>
T* upload_to(Workspace& arena, Backend& be, const std::vector<T>& host) {
  T* p = arena.take<T>(host.size());
  if (!host.empty()) be.upload(p, host.data(), host.size() * sizeof(T));
  return p;
}

std::vector<int32_t> row_positions(int B, int T) {
  std::vector<int32_t> pos(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) pos[static_cast<size_t>(b) * T + t] = t;
  return pos;
}

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

// The labelled rows of a batch, in row-major order, and what they predict.
struct Labelled {
  std::vector<int32_t> rows, targets;
  int R() const { return static_cast<int>(rows.size()); }
};

Labelled labelled_rows(const Model::Impl& m, const Batch& batch) {
  Labelled l;
  for (int i = 0; i < batch.B * batch.T; ++i)
    if (batch.targets[i] >= 0) {
      l.rows.push_back(i);
      l.targets.push_back(batch.targets[i]);
    }
  m.check_tokens(l.targets.data(), l.targets.size());
  return l;
}

LossSums sum_losses(const std::vector<float>& loss, const Labelled& l, const Batch& batch) {
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

// What the LM head leaves on the backend for the labelled rows.
struct Head {
  float* logits;  // [R, V]
  float* loss;    // [R]
  const int32_t* targets;
};

// Final norm + LM head + log-sum-exp on the labelled rows of the final hidden states.
Head labelled_head(const Model::Impl& m, const Batch& batch, const Labelled& l, const WeightSource& src) {
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
  const Labelled l = labelled_rows(m, batch);
  const Head head = labelled_head(m, batch, l, source ? *source : m.stored);
  return sum_losses(download_vector(*m.backend, head.loss, l.rows.size()), l, batch);
}

std::vector<float> Model::forward_candidate_logprobs(const Batch& batch, const std::vector<int32_t>& candidates,
                                                     const WeightSource* source) const {
  const Impl& m = *impl_;
  m.check_tokens(candidates.data(), candidates.size());
  const Labelled l = labelled_rows(m, batch);
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

LossSums Model::forward_backward(const Batch& batch, Gradients& grads, float loss_scale) {
  Impl& m = *impl_;
  const ModelConfig& c = m.config;
  Backend& be = *m.backend;
  if (!be.is_host()) fail("model: training with backprop runs on the CPU backend, not on " + be.name());
  for (const Parameter& p : m.params)
    if (p.dtype != DType::F32) fail("model: training with backprop needs F32 weights, '" + p.name + "' is " + dtype_name(p.dtype));
  const WeightSource& src = m.stored;
  const int B = batch.B, T = batch.T, N = B * T, D = c.hidden_size, V = c.vocab_size, F = c.intermediate_size;
  const int Q = c.q_dim(), KV = c.kv_dim(), L = c.num_hidden_layers;
  const size_t ND = static_cast<size_t>(N) * D;
  if (T > c.max_position_embeddings) fail("model: sequence length exceeds max_position_embeddings");
  m.check_tokens(batch.tokens.data(), batch.tokens.size());
  Workspace& acts = m.acts;
  acts.reset();

  // ---- forward, keeping every layer's activations
  float* x = acts.take<float>(ND);
  ops::embedding_forward(be, x, batch.tokens.data(), m.params[m.embed].f32(), N, D);
  const std::vector<int32_t> positions = row_positions(B, T);
  const int32_t* pos = positions.data();
  std::vector<LayerActivations> layer_acts(L);
  std::vector<float*> layer_k(L), layer_v(L);
  for (int l = 0; l < L; ++l) {
    layer_acts[l] = m.take_layer_activations(acts, B, T, T, true);
    layer_k[l] = acts.take<float>(static_cast<size_t>(N) * KV);
    layer_v[l] = acts.take<float>(static_cast<size_t>(N) * KV);
    m.layer_forward(l, src, x, B, T, T, pos, layer_k[l], layer_v[l], layer_acts[l], true);
  }
  const Labelled lab = labelled_rows(m, batch);
  const int R = lab.R();
  const size_t RD = static_cast<size_t>(R) * D;
  float* xs = acts.take<float>(RD);
  float* h = acts.take<float>(RD);
  float* rstd = acts.take<float>(R);
  float* logits = acts.take<float>(static_cast<size_t>(R) * V);
  std::vector<float> loss(R);
  ops::gather_rows(be, xs, x, lab.rows.data(), R, D);
  const float* final_norm_w = m.params[m.final_norm].f32();
  const float* head_w = m.params[m.head].f32();
  ops::rmsnorm_forward(be, h, rstd, xs, final_norm_w, R, D, c.rms_norm_eps);
  ops::matmul_forward(be, logits, h, head_w, nullptr, R, D, V);
  const std::vector<float> scale(R, loss_scale);
  ops::cross_entropy_forward_backward(be, loss.data(), logits, lab.targets.data(), R, V, scale.data());
  const LossSums out = sum_losses(loss, lab, batch);

  // ---- backward (logits now hold dloss/dlogits)
  float* dh = acts.take<float>(RD);
  float* dxs = acts.take<float>(RD);
  ops::matmul_backward(be, dh, grads.data(m.head), nullptr, logits, h, head_w, R, D, V);
  ops::rmsnorm_backward(be, dxs, grads.data(m.final_norm), dh, xs, final_norm_w, rstd, R, D, false);
  float* dx = acts.take<float>(ND);
  std::fill(dx, dx + ND, 0.0f);
  ops::scatter_rows(be, dx, dxs, lab.rows.data(), R, D);

  float* dtmp_d = acts.take<float>(ND);
  float *dact = acts.take<float>(static_cast<size_t>(N) * F), *dgate = acts.take<float>(static_cast<size_t>(N) * F),
        *dup = acts.take<float>(static_cast<size_t>(N) * F);
  float *datt = acts.take<float>(static_cast<size_t>(N) * Q), *dq = acts.take<float>(static_cast<size_t>(N) * Q);
  float *dk = acts.take<float>(static_cast<size_t>(N) * KV), *dv = acts.take<float>(static_cast<size_t>(N) * KV);
  const float *cos_table = m.rope_cos.as<float>(), *sin_table = m.rope_sin.as<float>();
  for (int l = L - 1; l >= 0; --l) {
    const LayerParams& P = m.layers[l];
    const LayerActivations& a = layer_acts[l];
    auto W = [&](int id) { return m.params[id].f32(); };
    auto bias_grad = [&](int id) { return id >= 0 ? grads.data(id) : nullptr; };
    // MLP: x_out = x_mid + act · Wdown^T
    ops::matmul_backward(be, dact, grads.data(P.down), nullptr, dx, a.act, W(P.down), N, F, D);
    ops::swiglu_backward(be, dgate, dup, dact, a.gate, a.up, static_cast<int64_t>(N) * F);
    ops::matmul_backward(be, dtmp_d, grads.data(P.gate), nullptr, dgate, a.h2, W(P.gate), N, D, F);
    ops::matmul_backward(be, dtmp_d, grads.data(P.up), nullptr, dup, a.h2, W(P.up), N, D, F, true);
    ops::rmsnorm_backward(be, dx, grads.data(P.post_norm), dtmp_d, a.x_mid, W(P.post_norm), a.rstd2, N, D, true);
    // Attention: x_mid = x_in + att · Wo^T
    ops::matmul_backward(be, datt, grads.data(P.o), nullptr, dx, a.att, W(P.o), N, Q, D);
    ops::attention_backward(be, dq, dk, dv, datt, a.q, layer_k[l], layer_v[l], a.probs, B, T, c.num_attention_heads,
                            c.num_key_value_heads, c.head_dim);
    ops::rope_backward(be, dq, pos, cos_table, sin_table, N, c.num_attention_heads, c.head_dim);
    ops::rope_backward(be, dk, pos, cos_table, sin_table, N, c.num_key_value_heads, c.head_dim);
    // h1 was reused as a temporary in the forward; recompute it from x_in.
    ops::rmsnorm_forward(be, a.h1, a.rstd1, a.x_in, W(P.input_norm), N, D, c.rms_norm_eps);
    ops::matmul_backward(be, dtmp_d, grads.data(P.q), bias_grad(P.q_bias), dq, a.h1, W(P.q), N, D, Q);
    ops::matmul_backward(be, dtmp_d, grads.data(P.k), bias_grad(P.k_bias), dk, a.h1, W(P.k), N, D, KV, true);
    ops::matmul_backward(be, dtmp_d, grads.data(P.v), bias_grad(P.v_bias), dv, a.h1, W(P.v), N, D, KV, true);
    ops::rmsnorm_backward(be, dx, grads.data(P.input_norm), dtmp_d, a.x_in, W(P.input_norm), a.rstd1, N, D, true);
  }
  ops::embedding_backward(be, grads.data(m.embed), dx, batch.tokens.data(), N, D);
  return out;
}

}  // namespace qzo
