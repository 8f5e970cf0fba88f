// The decoder's hand-written backward (llm.c style, any backend): one training pass keeps the
// activations every layer's backward needs (or only the layers' inputs, with activation
// checkpointing), reads every weight through a WeightSource — so that a frozen quantized
// base (QLoRA) is dequantized one layer at a time, never held whole in fp32 — and
// accumulates gradients where GradientTargets asks: every parameter (FT, pretraining) or
// the LoRA factors alone.
#include <algorithm>

#include "framework/core/error.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

namespace {

// Gradient buffers one layer's backward reuses, in the activation arena.
struct LayerGrads {
  float *dx_in, *dact, *dgate, *dup, *datt, *dq, *dk, *dv;
};

LayerGrads take_layer_grads(Workspace& acts, const ModelConfig& c, int N) {
  const size_t n = static_cast<size_t>(N);
  LayerGrads g;
  g.dx_in = acts.take<float>(n * c.hidden_size);
  g.dact = acts.take<float>(n * c.intermediate_size);
  g.dgate = acts.take<float>(n * c.intermediate_size);
  g.dup = acts.take<float>(n * c.intermediate_size);
  g.datt = acts.take<float>(n * c.q_dim());
  g.dq = acts.take<float>(n * c.q_dim());
  g.dk = acts.take<float>(n * c.kv_dim());
  g.dv = acts.take<float>(n * c.kv_dim());
  return g;
}

// Backward of out += s·B A x̃ (x̃ = dropout(x)). u = A x̃ (rank values per row) and the mask are
// recomputed here, not kept: the adapter adds no activations to the pass.
void lora_backward(const Model::Impl& m, const LoraAdapter& a, const GradientTargets& g, int weight, float* dinp,
                   const float* dout, const float* inp, int M, int K, int N) {
  Backend& be = *m.backend;
  Workspace& ws = m.scratch;
  const int64_t MK = int64_t(M) * K, Mr = int64_t(M) * a.rank;
  const float* x = inp;
  if (a.dropout > 0.0f) {
    float* dropped = ws.take<float>(size_t(MK));
    ops::lora_dropout(be, dropped, inp, MK, a.dropout_seed, uint32_t(weight), a.dropout);
    x = dropped;
  }
  float* dA = g.lora_A.empty() ? nullptr : g.lora_A[weight];
  float* dB = g.lora_B.empty() ? nullptr : g.lora_B[weight];
  float* su = ws.take<float>(size_t(Mr));
  ops::matmul_forward(be, su, x, a.A, nullptr, M, K, a.rank);
  ops::scale(be, su, Mr, a.scale);
  float* du = ws.take<float>(size_t(Mr));
  ops::matmul_backward(be, du, dB, nullptr, dout, su, a.B, M, a.rank, N);  // du = dout·B; dB += doutᵀ·s·u
  ops::scale(be, du, Mr, a.scale);
  float* dx = ws.take<float>(size_t(MK));
  ops::matmul_backward(be, dx, dA, nullptr, du, x, a.A, M, K, a.rank);  // dx̃ = du·A; dA += duᵀ·x̃
  if (a.dropout > 0.0f) ops::lora_dropout(be, dx, dx, MK, a.dropout_seed, uint32_t(weight), a.dropout);
  ops::residual_add(be, dinp, dx, MK);
}

// out = inp·Wᵀ (+ bias) (+ adapter): dinp (=, or += when accumulate), and W's, the bias's and
// the adapter's gradients where `g` asks for them. W is read (dequantized) into scratch.
void linear_backward(const Model::Impl& m, const WeightSource& src, const GradientTargets& g, int weight, int bias,
                     float* dinp, const float* dout, const float* inp, int M, int K, int N, bool accumulate) {
  m.scratch.reset();
  const float* W = ops::materialize_f32(*m.backend, m.scratch, src.operand(weight));
  ops::matmul_backward(*m.backend, dinp, g.weight(weight), g.weight(bias), dout, inp, W, M, K, N, accumulate);
  if (const LoraAdapter* a = src.adapter(weight)) lora_backward(m, *a, g, weight, dinp, dout, inp, M, K, N);
}

// Layer l's backward: dx holds d loss / d (layer output) and leaves holding d loss / d (layer input).
void layer_backward(const Model::Impl& m, int l, const WeightSource& src, const GradientTargets& g, float* dx,
                    const LayerActivations& a, const float* k, const float* v, const int32_t* pos, int B, int T,
                    const LayerGrads& d) {
  const ModelConfig& c = m.config;
  const LayerParams& P = m.layers[l];
  Backend& be = *m.backend;
  const int N = B * T, D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  const float *cos_table = m.rope_cos.as<float>(), *sin_table = m.rope_sin.as<float>();
  // MLP: x_out = x_mid + act · Wdownᵀ
  linear_backward(m, src, g, P.down, -1, d.dact, dx, a.act, N, F, D, false);
  ops::swiglu_backward(be, d.dgate, d.dup, d.dact, a.gate, a.up, int64_t(N) * F);
  linear_backward(m, src, g, P.gate, -1, d.dx_in, d.dgate, a.h2, N, D, F, false);
  linear_backward(m, src, g, P.up, -1, d.dx_in, d.dup, a.h2, N, D, F, true);
  ops::rmsnorm_backward(be, dx, g.weight(P.post_norm), d.dx_in, a.x_mid, m.vector(src, P.post_norm), a.rstd2, N, D,
                        true);
  // Attention: x_mid = x_in + att · Woᵀ
  linear_backward(m, src, g, P.o, -1, d.datt, dx, a.att, N, Q, D, false);
  ops::attention_backward(be, d.dq, d.dk, d.dv, d.datt, a.q, k, v, a.probs, B, T, c.num_attention_heads,
                          c.num_key_value_heads, c.head_dim);
  ops::rope_backward(be, d.dq, pos, cos_table, sin_table, N, c.num_attention_heads, c.head_dim);
  ops::rope_backward(be, d.dk, pos, cos_table, sin_table, N, c.num_key_value_heads, c.head_dim);
  // h1 was reused as a temporary in the forward; recompute it from x_in.
  ops::rmsnorm_forward(be, a.h1, a.rstd1, a.x_in, m.vector(src, P.input_norm), N, D, c.rms_norm_eps);
  linear_backward(m, src, g, P.q, P.q_bias, d.dx_in, d.dq, a.h1, N, D, Q, false);
  linear_backward(m, src, g, P.k, P.k_bias, d.dx_in, d.dk, a.h1, N, D, KV, true);
  linear_backward(m, src, g, P.v, P.v_bias, d.dx_in, d.dv, a.h1, N, D, KV, true);
  ops::rmsnorm_backward(be, dx, g.weight(P.input_norm), d.dx_in, a.x_in, m.vector(src, P.input_norm), a.rstd1, N, D,
                        true);
}

// What the forward keeps for the backward: every layer's activations, or (checkpointing) the
// layers' inputs and one set of activations the backward refills layer by layer.
struct KeptLayers {
  std::vector<LayerActivations> acts;  // one per layer, or one shared
  std::vector<float*> k, v;            // the same
  std::vector<float*> inputs;          // checkpointing: each layer's input [N, D]
  const LayerActivations& at(int l) const { return acts[acts.size() == 1 ? 0 : l]; }
  float* k_at(int l) const { return k[k.size() == 1 ? 0 : l]; }
  float* v_at(int l) const { return v[v.size() == 1 ? 0 : l]; }
};

KeptLayers take_kept_layers(const Model::Impl& m, int B, int T, bool checkpointing) {
  const ModelConfig& c = m.config;
  const int L = c.num_hidden_layers, sets = checkpointing ? 1 : L;
  const size_t NKV = static_cast<size_t>(B) * T * c.kv_dim();
  KeptLayers kept;
  for (int i = 0; i < sets; ++i) {
    kept.acts.push_back(m.take_layer_activations(m.acts, B, T, T, true));
    kept.k.push_back(m.acts.take<float>(NKV));
    kept.v.push_back(m.acts.take<float>(NKV));
  }
  if (checkpointing)
    for (int l = 0; l < L; ++l) kept.inputs.push_back(m.acts.take<float>(static_cast<size_t>(B) * T * c.hidden_size));
  return kept;
}

// The head's loss runs on the host (a few rows of logits): on a device backend the logits go
// down and their gradient comes back up.
double head_on_host(Backend& be, const HeadLoss& head, float* logits, int R, int V) {
  if (be.is_host()) return head(logits, R, V);
  std::vector<float> host = download_vector(be, logits, size_t(R) * V);
  const double loss = head(host.data(), R, V);
  be.upload(logits, host.data(), host.size() * sizeof(float));
  return loss;
}

// Final norm + LM head on the labelled rows of x, `head`'s loss and its gradient, back to
// dx [N, D] (zero on unlabelled rows). Returns the summed loss.
double head_backward(const Model::Impl& m, const WeightSource& src, const HeadLoss& head, const GradientTargets& g,
                     const float* x, float* dx, const LabelledRows& lab, int N) {
  const ModelConfig& c = m.config;
  Backend& be = *m.backend;
  const int R = lab.R(), D = c.hidden_size, V = c.vocab_size;
  const size_t RD = static_cast<size_t>(R) * D;
  const int32_t* rows = upload_to(m.acts, be, lab.rows);
  float* xs = m.acts.take<float>(RD);
  float* h = m.acts.take<float>(RD);
  float* rstd = m.acts.take<float>(R);
  float* logits = m.acts.take<float>(static_cast<size_t>(R) * V);
  ops::gather_rows(be, xs, x, rows, R, D);
  ops::rmsnorm_forward(be, h, rstd, xs, m.vector(src, m.final_norm), R, D, c.rms_norm_eps);
  m.linear(src, m.head, -1, logits, h, R, D, V);
  const double loss = head_on_host(be, head, logits, R, V);  // logits now hold d loss / d logits
  float* dh = m.acts.take<float>(RD);
  float* dxs = m.acts.take<float>(RD);
  linear_backward(m, src, g, m.head, -1, dh, logits, h, R, D, V, false);
  ops::rmsnorm_backward(be, dxs, g.weight(m.final_norm), dh, xs, m.vector(src, m.final_norm), rstd, R, D, false);
  be.fill_zero(dx, static_cast<size_t>(N) * D * sizeof(float));
  ops::scatter_rows(be, dx, dxs, rows, R, D);
  return loss;
}

}  // namespace

double Model::backprop(const Batch& batch, const WeightSource& src, const HeadLoss& head, const GradientTargets& g,
                       const BackpropOptions& options) const {
  const Impl& m = *impl_;
  const ModelConfig& c = m.config;
  Backend& be = *m.backend;
  const int B = batch.B, T = batch.T, N = B * T, D = c.hidden_size, L = c.num_hidden_layers;
  const size_t ND = static_cast<size_t>(N) * D;
  if (T > c.max_position_embeddings) fail("model: sequence length exceeds max_position_embeddings");
  m.check_tokens(batch.tokens.data(), batch.tokens.size());
  const LabelledRows lab = labelled_rows(m, batch);
  m.acts.reset();
  const bool checkpointing = options.activation_checkpointing;

  // ---- forward, keeping what the backward needs
  float* x = m.acts.take<float>(ND);
  const int32_t* tokens = upload_to(m.acts, be, batch.tokens);
  const int32_t* pos = upload_to(m.acts, be, row_positions(B, T));
  const KeptLayers kept = take_kept_layers(m, B, T, checkpointing);
  ops::embedding_lookup(be, x, tokens, src.operand(m.embed), N, D);
  for (int l = 0; l < L; ++l) {
    if (checkpointing) be.copy(kept.inputs[l], x, ND * sizeof(float));
    m.layer_forward(l, src, x, B, T, T, pos, kept.k_at(l), kept.v_at(l), kept.at(l), !checkpointing);
  }

  // ---- backward
  float* dx = m.acts.take<float>(ND);
  const double loss = head_backward(m, src, head, g, x, dx, lab, N);
  const LayerGrads d = take_layer_grads(m.acts, c, N);
  for (int l = L - 1; l >= 0; --l) {
    if (checkpointing) {  // the layer again, this time keeping its activations
      be.copy(x, kept.inputs[l], ND * sizeof(float));
      m.layer_forward(l, src, x, B, T, T, pos, kept.k_at(l), kept.v_at(l), kept.at(l), true);
    }
    layer_backward(m, l, src, g, dx, kept.at(l), kept.k_at(l), kept.v_at(l), pos, B, T, d);
  }
  if (float* dtable = g.weight(m.embed)) ops::embedding_backward(be, dtable, dx, tokens, N, D);
  return loss;
}

LossSums Model::forward_backward(const Batch& batch, Gradients& grads, float loss_scale) {
  for (const Parameter& p : impl_->params)
    if (p.dtype != DType::F32)
      fail("model: training with backprop needs F32 weights, '" + p.name + "' is " + dtype_name(p.dtype));
  const LabelledRows lab = labelled_rows(*impl_, batch);
  std::vector<float> loss(lab.rows.size());
  const std::vector<float> scale(lab.rows.size(), loss_scale);
  const HeadLoss cross_entropy = [&](float* logits, int R, int V) {
    ops::cross_entropy_forward_backward(cpu_backend(), loss.data(), logits, lab.targets.data(), R, V, scale.data());
    double sum = 0;
    for (float l : loss) sum += l;
    return sum;
  };
  backprop(batch, impl_->stored, cross_entropy, grads.targets());
  return sum_losses(loss, lab, batch);
}

}  // namespace qzo
