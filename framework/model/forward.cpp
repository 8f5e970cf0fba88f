// The decoder's forward pass (inference and training) and its hand-written backward.
// Inference keeps one layer's activations; the LM head runs only on labelled rows.
#include <algorithm>
#include <cstring>

#include "framework/core/error.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

namespace {

void ensure(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

void add_inplace(float* x, const float* y, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

void Model::Impl::layer_forward(int l, const WeightSource& src, WeightScratch& s, float* x, int B, int Tq, int Tk,
                                const int32_t* positions, float* k_all, float* v_all, LayerActivations& a,
                                bool keep) const {
  const ModelConfig& c = config;
  const LayerParams& L = layers[l];
  const int N = B * Tq, D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  const size_t ND = static_cast<size_t>(N) * D;
  if (B > 1 && Tk != Tq) fail("model: cached attention supports one sequence at a time");
  ensure(a.h1, ND);
  ensure(a.rstd1, N);
  ensure(a.q, static_cast<size_t>(N) * Q);
  ensure(a.att, static_cast<size_t>(N) * Q);
  ensure(a.h2, ND);
  ensure(a.rstd2, N);
  ensure(a.gate, static_cast<size_t>(N) * F);
  ensure(a.up, static_cast<size_t>(N) * F);
  ensure(a.act, static_cast<size_t>(N) * F);
  if (keep) {
    ensure(a.x_in, ND);
    ensure(a.x_mid, ND);
    ensure(a.probs, static_cast<size_t>(B) * c.num_attention_heads * Tq * Tk);
    std::memcpy(a.x_in.data(), x, ND * sizeof(float));
  }

  ops::rmsnorm_forward(a.h1.data(), a.rstd1.data(), x, read(src, L.input_norm, s), N, D, c.rms_norm_eps);
  float* k_new = k_all + static_cast<size_t>(Tk - Tq) * KV;
  float* v_new = v_all + static_cast<size_t>(Tk - Tq) * KV;
  auto project = [&](float* out, int weight, int bias, int out_dim) {
    const float* w = read(src, weight, s);
    const float* b = bias >= 0 ? read(src, bias, s) : nullptr;
    ops::matmul_forward(out, a.h1.data(), w, b, N, D, out_dim);
  };
  project(a.q.data(), L.q, L.q_bias, Q);
  project(k_new, L.k, L.k_bias, KV);
  project(v_new, L.v, L.v_bias, KV);
  ops::rope_forward(a.q.data(), positions, rope_cos.data(), rope_sin.data(), N, c.num_attention_heads, c.head_dim);
  ops::rope_forward(k_new, positions, rope_cos.data(), rope_sin.data(), N, c.num_key_value_heads, c.head_dim);
  ops::attention_forward(a.att.data(), keep ? a.probs.data() : nullptr, a.q.data(), k_all, v_all, B, Tq, Tk,
                         c.num_attention_heads, c.num_key_value_heads, c.head_dim);
  // The attention output projection goes through h2 as a temporary before the residual add.
  ops::matmul_forward(a.h2.data(), a.att.data(), read(src, L.o, s), nullptr, N, Q, D);
  add_inplace(x, a.h2.data(), ND);
  if (keep) std::memcpy(a.x_mid.data(), x, ND * sizeof(float));

  ops::rmsnorm_forward(a.h2.data(), a.rstd2.data(), x, read(src, L.post_norm, s), N, D, c.rms_norm_eps);
  ops::matmul_forward(a.gate.data(), a.h2.data(), read(src, L.gate, s), nullptr, N, D, F);
  ops::matmul_forward(a.up.data(), a.h2.data(), read(src, L.up, s), nullptr, N, D, F);
  ops::swiglu_forward(a.act.data(), a.gate.data(), a.up.data(), static_cast<int64_t>(N) * F);
  // x += act · Wdown^T, via h1 (free by now) as the temporary.
  ops::matmul_forward(a.h1.data(), a.act.data(), read(src, L.down, s), nullptr, N, F, D);
  add_inplace(x, a.h1.data(), ND);
}

namespace {

void fill_row_positions(std::vector<int32_t>& pos, int B, int T) {
  pos.resize(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) pos[static_cast<size_t>(b) * T + t] = t;
}

// Runs embedding + all layers with one reused set of activations; the final residual is left in ws.x.
void hidden_states(const Model::Impl& m, const std::vector<int32_t>& tokens, int B, int T, const WeightSource& src) {
  const ModelConfig& c = m.config;
  if (T > c.max_position_embeddings)
    fail("model: sequence length " + std::to_string(T) + " exceeds max_position_embeddings " +
         std::to_string(c.max_position_embeddings));
  m.check_tokens(tokens.data(), tokens.size());
  Workspace& ws = m.ws;
  m.ensure_scratch(ws.scratch);
  const int N = B * T;
  ensure(ws.x, static_cast<size_t>(N) * c.hidden_size);
  ops::embedding_forward(ws.x.data(), tokens.data(), m.read(src, m.embed, ws.scratch), N, c.hidden_size);
  fill_row_positions(ws.positions, B, T);
  ensure(ws.k, static_cast<size_t>(N) * c.kv_dim());
  ensure(ws.v, static_cast<size_t>(N) * c.kv_dim());
  for (int l = 0; l < c.num_hidden_layers; ++l)
    m.layer_forward(l, src, ws.scratch, ws.x.data(), B, T, T, ws.positions.data(), ws.k.data(), ws.v.data(), ws.acts,
                    false);
}

// Gathers the labelled rows of ws.x into ws.xs (and their targets into ws.targets).
int gather_labelled(const Model::Impl& m, const Batch& batch) {
  Workspace& ws = m.ws;
  ws.rows.clear();
  ws.targets.clear();
  for (int i = 0; i < batch.B * batch.T; ++i)
    if (batch.targets[i] >= 0) {
      ws.rows.push_back(i);
      ws.targets.push_back(batch.targets[i]);
    }
  m.check_tokens(ws.targets.data(), ws.targets.size());
  const int R = static_cast<int>(ws.rows.size()), D = m.config.hidden_size;
  ensure(ws.xs, static_cast<size_t>(R) * D);
  for (int r = 0; r < R; ++r)
    std::memcpy(&ws.xs[static_cast<size_t>(r) * D], &ws.x[static_cast<size_t>(ws.rows[r]) * D], sizeof(float) * D);
  return R;
}

LossSums sum_losses(const Workspace& ws, const Batch& batch, int R) {
  LossSums out;
  out.row_loss.assign(batch.B, 0.0);
  out.row_count.assign(batch.B, 0);
  for (int r = 0; r < R; ++r) {
    const int b = ws.rows[r] / batch.T;
    out.row_loss[b] += ws.loss[r];
    out.row_count[b] += 1;
    out.total_loss += ws.loss[r];
  }
  out.total_count = R;
  return out;
}

}  // namespace

namespace {

// Final norm + LM head + log-sum-exp on the labelled rows of ws.x: ws.logits, ws.loss.
int labelled_head(const Model::Impl& m, const Batch& batch, const WeightSource& src) {
  const ModelConfig& c = m.config;
  Workspace& ws = m.ws;
  hidden_states(m, batch.tokens, batch.B, batch.T, src);
  const int R = gather_labelled(m, batch), D = c.hidden_size, V = c.vocab_size;
  ensure(ws.h, static_cast<size_t>(R) * D);
  ensure(ws.logits, static_cast<size_t>(R) * V);
  ensure(ws.loss, R);
  ops::rmsnorm_forward(ws.h.data(), nullptr, ws.xs.data(), m.read(src, m.final_norm, ws.scratch), R, D,
                       c.rms_norm_eps);
  ops::matmul_forward(ws.logits.data(), ws.h.data(), m.read(src, m.head, ws.scratch), nullptr, R, D, V);
  ops::cross_entropy_forward_backward(ws.loss.data(), ws.logits.data(), ws.targets.data(), R, V, nullptr);
  return R;
}

}  // namespace

LossSums Model::forward_loss(const Batch& batch, const WeightSource* source) const {
  const Impl& m = *impl_;
  const int R = labelled_head(m, batch, source ? *source : m.stored);
  return sum_losses(m.ws, batch, R);
}

std::vector<float> Model::forward_candidate_logprobs(const Batch& batch, const std::vector<int32_t>& candidates,
                                                     const WeightSource* source) const {
  const Impl& m = *impl_;
  m.check_tokens(candidates.data(), candidates.size());
  const int R = labelled_head(m, batch, source ? *source : m.stored), V = m.config.vocab_size;
  const Workspace& ws = m.ws;
  const size_t C = candidates.size();
  std::vector<float> out(static_cast<size_t>(R) * C);
  // loss[r] = logsumexp − logit[target], so log p(c) = logit[c] − logit[target] − loss[r].
  for (int r = 0; r < R; ++r) {
    const float* z = &ws.logits[static_cast<size_t>(r) * V];
    const float log_sum = z[ws.targets[r]] + ws.loss[r];
    for (size_t c = 0; c < C; ++c) out[r * C + c] = z[candidates[c]] - log_sum;
  }
  return out;
}

std::vector<float> Model::forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                         const WeightSource* source) const {
  const Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const WeightSource& src = source ? *source : m.stored;
  Workspace& ws = m.ws;
  hidden_states(m, tokens, B, T, src);
  const int N = B * T;
  std::vector<float> h(static_cast<size_t>(N) * c.hidden_size), logits(static_cast<size_t>(N) * c.vocab_size);
  ops::rmsnorm_forward(h.data(), nullptr, ws.x.data(), m.read(src, m.final_norm, ws.scratch), N, c.hidden_size,
                       c.rms_norm_eps);
  ops::matmul_forward(logits.data(), h.data(), m.read(src, m.head, ws.scratch), nullptr, N, c.hidden_size,
                      c.vocab_size);
  return logits;
}

LossSums Model::forward_backward(const Batch& batch, Gradients& grads, float loss_scale) {
  Impl& m = *impl_;
  const ModelConfig& c = m.config;
  for (const Parameter& p : m.params)
    if (p.dtype != DType::F32) fail("model: training with backprop needs F32 weights, '" + p.name + "' is " + dtype_name(p.dtype));
  const WeightSource& src = m.stored;
  Workspace& ws = m.ws;
  m.ensure_scratch(ws.scratch);
  const int B = batch.B, T = batch.T, N = B * T, D = c.hidden_size, V = c.vocab_size, F = c.intermediate_size;
  const int Q = c.q_dim(), KV = c.kv_dim(), L = c.num_hidden_layers;
  const size_t ND = static_cast<size_t>(N) * D;
  if (T > c.max_position_embeddings) fail("model: sequence length exceeds max_position_embeddings");
  m.check_tokens(batch.tokens.data(), batch.tokens.size());
  auto& G = grads.per_parameter();

  // ---- forward, keeping every layer's activations
  ensure(ws.x, ND);
  float* x = ws.x.data();
  ops::embedding_forward(x, batch.tokens.data(), m.params[m.embed].f32(), N, D);
  fill_row_positions(ws.positions, B, T);
  const int32_t* pos = ws.positions.data();
  m.train_acts.resize(L);
  for (int l = 0; l < L; ++l) {
    LayerActivations& a = m.train_acts[l];
    ensure(a.k, static_cast<size_t>(N) * KV);
    ensure(a.v, static_cast<size_t>(N) * KV);
    m.layer_forward(l, src, ws.scratch, x, B, T, T, pos, a.k.data(), a.v.data(), a, true);
  }
  const int R = gather_labelled(m, batch);
  const size_t RD = static_cast<size_t>(R) * D;
  ensure(ws.h, RD);
  ensure(ws.rstd, R);
  ensure(ws.logits, static_cast<size_t>(R) * V);
  ensure(ws.loss, R);
  const float* final_norm_w = m.params[m.final_norm].f32();
  const float* head_w = m.params[m.head].f32();
  ops::rmsnorm_forward(ws.h.data(), ws.rstd.data(), ws.xs.data(), final_norm_w, R, D, c.rms_norm_eps);
  ops::matmul_forward(ws.logits.data(), ws.h.data(), head_w, nullptr, R, D, V);
  const std::vector<float> scale(R, loss_scale);
  ops::cross_entropy_forward_backward(ws.loss.data(), ws.logits.data(), ws.targets.data(), R, V, scale.data());
  const LossSums out = sum_losses(ws, batch, R);

  // ---- backward (logits now hold dloss/dlogits)
  ensure(ws.dh, RD);
  ensure(ws.dxs, RD);
  ops::matmul_backward(ws.dh.data(), G[m.head].data(), nullptr, ws.logits.data(), ws.h.data(), head_w, R, D, V);
  ops::rmsnorm_backward(ws.dxs.data(), G[m.final_norm].data(), ws.dh.data(), ws.xs.data(), final_norm_w,
                        ws.rstd.data(), R, D, false);
  ensure(ws.dx, ND);
  float* dx = ws.dx.data();
  std::fill(dx, dx + ND, 0.0f);
  for (int r = 0; r < R; ++r)
    std::memcpy(dx + static_cast<size_t>(ws.rows[r]) * D, &ws.dxs[static_cast<size_t>(r) * D], sizeof(float) * D);

  ensure(ws.dtmp, ND);
  for (auto* buf : {&ws.dact, &ws.dgate, &ws.dup}) ensure(*buf, static_cast<size_t>(N) * F);
  for (auto* buf : {&ws.datt, &ws.dq}) ensure(*buf, static_cast<size_t>(N) * Q);
  for (auto* buf : {&ws.dk, &ws.dv}) ensure(*buf, static_cast<size_t>(N) * KV);
  float *dtmp_d = ws.dtmp.data(), *dact = ws.dact.data(), *dgate = ws.dgate.data(), *dup = ws.dup.data();
  float *datt = ws.datt.data(), *dq = ws.dq.data(), *dk = ws.dk.data(), *dv = ws.dv.data();
  for (int l = L - 1; l >= 0; --l) {
    const LayerParams& P = m.layers[l];
    LayerActivations& a = m.train_acts[l];
    auto W = [&](int id) { return m.params[id].f32(); };
    auto bias_grad = [&](int id) { return id >= 0 ? G[id].data() : nullptr; };
    // MLP: x_out = x_mid + act · Wdown^T
    ops::matmul_backward(dact, G[P.down].data(), nullptr, dx, a.act.data(), W(P.down), N, F, D);
    ops::swiglu_backward(dgate, dup, dact, a.gate.data(), a.up.data(),
                         static_cast<int64_t>(N) * F);
    ops::matmul_backward(dtmp_d, G[P.gate].data(), nullptr, dgate, a.h2.data(), W(P.gate), N, D, F);
    ops::matmul_backward(dtmp_d, G[P.up].data(), nullptr, dup, a.h2.data(), W(P.up), N, D, F, true);
    ops::rmsnorm_backward(dx, G[P.post_norm].data(), dtmp_d, a.x_mid.data(), W(P.post_norm),
                          a.rstd2.data(), N, D, true);
    // Attention: x_mid = x_in + att · Wo^T
    ops::matmul_backward(datt, G[P.o].data(), nullptr, dx, a.att.data(), W(P.o), N, Q, D);
    ops::attention_backward(dq, dk, dv, datt, a.q.data(), a.k.data(), a.v.data(),
                            a.probs.data(), B, T, c.num_attention_heads, c.num_key_value_heads, c.head_dim);
    ops::rope_backward(dq, pos, m.rope_cos.data(), m.rope_sin.data(), N, c.num_attention_heads,
                       c.head_dim);
    ops::rope_backward(dk, pos, m.rope_cos.data(), m.rope_sin.data(), N, c.num_key_value_heads,
                       c.head_dim);
    // h1 was reused as a temporary in the forward; recompute it from x_in.
    ops::rmsnorm_forward(a.h1.data(), a.rstd1.data(), a.x_in.data(), W(P.input_norm), N, D, c.rms_norm_eps);
    ops::matmul_backward(dtmp_d, G[P.q].data(), bias_grad(P.q_bias), dq, a.h1.data(), W(P.q), N, D, Q);
    ops::matmul_backward(dtmp_d, G[P.k].data(), bias_grad(P.k_bias), dk, a.h1.data(), W(P.k), N, D,
                         KV, true);
    ops::matmul_backward(dtmp_d, G[P.v].data(), bias_grad(P.v_bias), dv, a.h1.data(), W(P.v), N, D,
                         KV, true);
    ops::rmsnorm_backward(dx, G[P.input_norm].data(), dtmp_d, a.x_in.data(), W(P.input_norm),
                          a.rstd1.data(), N, D, true);
  }
  ops::embedding_backward(G[m.embed].data(), dx, batch.tokens.data(), N, D);
  return out;
}

}  // namespace qzo
