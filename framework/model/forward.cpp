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

std::vector<int32_t> row_positions(int B, int T) {
  std::vector<int32_t> pos(static_cast<size_t>(B) * T);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) pos[static_cast<size_t>(b) * T + t] = t;
  return pos;
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

// Runs embedding + all layers with one reused set of activations; returns the final residual.
std::vector<float> hidden_states(const Model::Impl& m, const std::vector<int32_t>& tokens, int B, int T,
                                 const WeightSource& src, WeightScratch& s) {
  const ModelConfig& c = m.config;
  if (T > c.max_position_embeddings)
    fail("model: sequence length " + std::to_string(T) + " exceeds max_position_embeddings " +
         std::to_string(c.max_position_embeddings));
  m.check_tokens(tokens.data(), tokens.size());
  const int N = B * T;
  std::vector<float> x(static_cast<size_t>(N) * c.hidden_size);
  ops::embedding_forward(x.data(), tokens.data(), m.read(src, m.embed, s), N, c.hidden_size);
  const std::vector<int32_t> pos = row_positions(B, T);
  LayerActivations a;
  std::vector<float> k(static_cast<size_t>(N) * c.kv_dim()), v(k.size());
  for (int l = 0; l < c.num_hidden_layers; ++l)
    m.layer_forward(l, src, s, x.data(), B, T, T, pos.data(), k.data(), v.data(), a, false);
  return x;
}

}  // namespace

LossSums Model::forward_loss(const Batch& batch, const WeightSource* source) const {
  const Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const WeightSource& src = source ? *source : m.stored;
  WeightScratch s = m.make_scratch();
  const std::vector<float> x = hidden_states(m, batch.tokens, batch.B, batch.T, src, s);

  std::vector<int32_t> rows, targets;
  for (int i = 0; i < batch.B * batch.T; ++i)
    if (batch.targets[i] >= 0) {
      rows.push_back(i);
      targets.push_back(batch.targets[i]);
    }
  m.check_tokens(targets.data(), targets.size());
  const int R = static_cast<int>(rows.size()), D = c.hidden_size, V = c.vocab_size;
  std::vector<float> xs(static_cast<size_t>(R) * D), h(xs.size()), logits(static_cast<size_t>(R) * V), loss(R);
  for (int r = 0; r < R; ++r)
    std::memcpy(&xs[static_cast<size_t>(r) * D], &x[static_cast<size_t>(rows[r]) * D], sizeof(float) * D);
  ops::rmsnorm_forward(h.data(), nullptr, xs.data(), m.read(src, m.final_norm, s), R, D, c.rms_norm_eps);
  ops::matmul_forward(logits.data(), h.data(), m.read(src, m.head, s), nullptr, R, D, V);
  ops::cross_entropy_forward_backward(loss.data(), logits.data(), targets.data(), R, V, nullptr);

  LossSums out;
  out.row_loss.assign(batch.B, 0.0);
  out.row_count.assign(batch.B, 0);
  for (int r = 0; r < R; ++r) {
    const int b = rows[r] / batch.T;
    out.row_loss[b] += loss[r];
    out.row_count[b] += 1;
    out.total_loss += loss[r];
  }
  out.total_count = R;
  return out;
}

std::vector<float> Model::forward_logits(const std::vector<int32_t>& tokens, int B, int T,
                                         const WeightSource* source) const {
  const Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const WeightSource& src = source ? *source : m.stored;
  WeightScratch s = m.make_scratch();
  const std::vector<float> x = hidden_states(m, tokens, B, T, src, s);
  const int N = B * T;
  std::vector<float> h(x.size()), logits(static_cast<size_t>(N) * c.vocab_size);
  ops::rmsnorm_forward(h.data(), nullptr, x.data(), m.read(src, m.final_norm, s), N, c.hidden_size, c.rms_norm_eps);
  ops::matmul_forward(logits.data(), h.data(), m.read(src, m.head, s), nullptr, N, c.hidden_size, c.vocab_size);
  return logits;
}

LossSums Model::forward_backward(const Batch& batch, Gradients& grads, float loss_scale) {
  Impl& m = *impl_;
  const ModelConfig& c = m.config;
  for (const Parameter& p : m.params)
    if (p.dtype != DType::F32) fail("model: training with backprop needs F32 weights, '" + p.name + "' is " + dtype_name(p.dtype));
  const WeightSource& src = m.stored;
  WeightScratch s = m.make_scratch();
  const int B = batch.B, T = batch.T, N = B * T, D = c.hidden_size, V = c.vocab_size, F = c.intermediate_size;
  const int Q = c.q_dim(), KV = c.kv_dim(), L = c.num_hidden_layers;
  const size_t ND = static_cast<size_t>(N) * D;
  if (T > c.max_position_embeddings) fail("model: sequence length exceeds max_position_embeddings");
  m.check_tokens(batch.tokens.data(), batch.tokens.size());
  auto& G = grads.per_parameter();

  // ---- forward, keeping every layer's activations
  std::vector<float> x(ND);
  ops::embedding_forward(x.data(), batch.tokens.data(), m.params[m.embed].f32(), N, D);
  const std::vector<int32_t> pos = row_positions(B, T);
  m.train_acts.resize(L);
  for (int l = 0; l < L; ++l) {
    LayerActivations& a = m.train_acts[l];
    ensure(a.k, static_cast<size_t>(N) * KV);
    ensure(a.v, static_cast<size_t>(N) * KV);
    m.layer_forward(l, src, s, x.data(), B, T, T, pos.data(), a.k.data(), a.v.data(), a, true);
  }
  std::vector<int32_t> rows, targets;
  for (int i = 0; i < N; ++i)
    if (batch.targets[i] >= 0) {
      rows.push_back(i);
      targets.push_back(batch.targets[i]);
    }
  m.check_tokens(targets.data(), targets.size());
  const int R = static_cast<int>(rows.size());
  std::vector<float> xs(static_cast<size_t>(R) * D), h(xs.size()), rstd(R), logits(static_cast<size_t>(R) * V),
      loss(R);
  for (int r = 0; r < R; ++r)
    std::memcpy(&xs[static_cast<size_t>(r) * D], &x[static_cast<size_t>(rows[r]) * D], sizeof(float) * D);
  const float* final_norm_w = m.params[m.final_norm].f32();
  const float* head_w = m.params[m.head].f32();
  ops::rmsnorm_forward(h.data(), rstd.data(), xs.data(), final_norm_w, R, D, c.rms_norm_eps);
  ops::matmul_forward(logits.data(), h.data(), head_w, nullptr, R, D, V);
  const std::vector<float> scale(R, loss_scale);
  ops::cross_entropy_forward_backward(loss.data(), logits.data(), targets.data(), R, V, scale.data());

  LossSums out;
  out.row_loss.assign(B, 0.0);
  out.row_count.assign(B, 0);
  for (int r = 0; r < R; ++r) {
    out.row_loss[rows[r] / T] += loss[r];
    out.row_count[rows[r] / T] += 1;
    out.total_loss += loss[r];
  }
  out.total_count = R;

  // ---- backward (logits now hold dloss/dlogits)
  std::vector<float> dh(xs.size()), dxs(xs.size());
  ops::matmul_backward(dh.data(), G[m.head].data(), nullptr, logits.data(), h.data(), head_w, R, D, V);
  ops::rmsnorm_backward(dxs.data(), G[m.final_norm].data(), dh.data(), xs.data(), final_norm_w, rstd.data(), R, D,
                        false);
  std::vector<float> dx(ND, 0.0f);
  for (int r = 0; r < R; ++r)
    std::memcpy(&dx[static_cast<size_t>(rows[r]) * D], &dxs[static_cast<size_t>(r) * D], sizeof(float) * D);

  std::vector<float> dtmp_d(ND), dact(static_cast<size_t>(N) * F), dgate(dact.size()), dup(dact.size());
  std::vector<float> datt(static_cast<size_t>(N) * Q), dq(datt.size()), dk(static_cast<size_t>(N) * KV),
      dv(dk.size());
  for (int l = L - 1; l >= 0; --l) {
    const LayerParams& P = m.layers[l];
    LayerActivations& a = m.train_acts[l];
    auto W = [&](int id) { return m.params[id].f32(); };
    auto bias_grad = [&](int id) { return id >= 0 ? G[id].data() : nullptr; };
    // MLP: x_out = x_mid + act · Wdown^T
    ops::matmul_backward(dact.data(), G[P.down].data(), nullptr, dx.data(), a.act.data(), W(P.down), N, F, D);
    ops::swiglu_backward(dgate.data(), dup.data(), dact.data(), a.gate.data(), a.up.data(),
                         static_cast<int64_t>(N) * F);
    ops::matmul_backward(dtmp_d.data(), G[P.gate].data(), nullptr, dgate.data(), a.h2.data(), W(P.gate), N, D, F);
    ops::matmul_backward(dtmp_d.data(), G[P.up].data(), nullptr, dup.data(), a.h2.data(), W(P.up), N, D, F, true);
    ops::rmsnorm_backward(dx.data(), G[P.post_norm].data(), dtmp_d.data(), a.x_mid.data(), W(P.post_norm),
                          a.rstd2.data(), N, D, true);
    // Attention: x_mid = x_in + att · Wo^T
    ops::matmul_backward(datt.data(), G[P.o].data(), nullptr, dx.data(), a.att.data(), W(P.o), N, Q, D);
    ops::attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), a.q.data(), a.k.data(), a.v.data(),
                            a.probs.data(), B, T, c.num_attention_heads, c.num_key_value_heads, c.head_dim);
    ops::rope_backward(dq.data(), pos.data(), m.rope_cos.data(), m.rope_sin.data(), N, c.num_attention_heads,
                       c.head_dim);
    ops::rope_backward(dk.data(), pos.data(), m.rope_cos.data(), m.rope_sin.data(), N, c.num_key_value_heads,
                       c.head_dim);
    // h1 was reused as a temporary in the forward; recompute it from x_in.
    ops::rmsnorm_forward(a.h1.data(), a.rstd1.data(), a.x_in.data(), W(P.input_norm), N, D, c.rms_norm_eps);
    ops::matmul_backward(dtmp_d.data(), G[P.q].data(), bias_grad(P.q_bias), dq.data(), a.h1.data(), W(P.q), N, D, Q);
    ops::matmul_backward(dtmp_d.data(), G[P.k].data(), bias_grad(P.k_bias), dk.data(), a.h1.data(), W(P.k), N, D,
                         KV, true);
    ops::matmul_backward(dtmp_d.data(), G[P.v].data(), bias_grad(P.v_bias), dv.data(), a.h1.data(), W(P.v), N, D,
                         KV, true);
    ops::rmsnorm_backward(dx.data(), G[P.input_norm].data(), dtmp_d.data(), a.x_in.data(), W(P.input_norm),
                          a.rstd1.data(), N, D, true);
  }
  ops::embedding_backward(G[m.embed].data(), dx.data(), batch.tokens.data(), N, D);
  return out;
}

}  // namespace qzo
