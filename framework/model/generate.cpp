#include "framework/model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "framework/core/error.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

struct Generator::State {
  std::vector<std::vector<float>> k_cache, v_cache;  // per layer [max_pos, kv_dim]
  WeightScratch scratch;
  LayerActivations acts;
  std::vector<float> logits;
};

Generator::Generator(const Model& model, const WeightSource* source)
    : model_(model), source_(source ? source : &model.stored_weights()), state_(std::make_unique<State>()) {
  const ModelConfig& c = model.config();
  const size_t cache = static_cast<size_t>(c.max_position_embeddings) * c.kv_dim();
  state_->k_cache.assign(c.num_hidden_layers, std::vector<float>(cache));
  state_->v_cache.assign(c.num_hidden_layers, std::vector<float>(cache));
  state_->scratch = model.impl_->make_scratch();
}

Generator::~Generator() = default;

void Generator::reset() { length_ = 0; }

const std::vector<float>& Generator::feed(const std::vector<int32_t>& tokens) {
  const Model::Impl& m = *model_.impl_;
  const ModelConfig& c = m.config;
  const int n = static_cast<int>(tokens.size());
  if (n == 0) fail("generate: nothing to feed");
  if (length_ + n > c.max_position_embeddings)
    fail("generate: " + std::to_string(length_ + n) + " tokens exceed max_position_embeddings " +
         std::to_string(c.max_position_embeddings));
  m.check_tokens(tokens.data(), tokens.size());
  State& s = *state_;
  const int D = c.hidden_size;
  std::vector<float> x(static_cast<size_t>(n) * D);
  ops::embedding_forward(x.data(), tokens.data(), m.read(*source_, m.embed, s.scratch), n, D);
  std::vector<int32_t> pos(n);
  std::iota(pos.begin(), pos.end(), length_);
  for (int l = 0; l < c.num_hidden_layers; ++l)
    m.layer_forward(l, *source_, s.scratch, x.data(), 1, n, length_ + n, pos.data(), s.k_cache[l].data(),
                    s.v_cache[l].data(), s.acts, false);
  length_ += n;
  const float* last = x.data() + static_cast<size_t>(n - 1) * D;
  std::vector<float> h(D);
  ops::rmsnorm_forward(h.data(), nullptr, last, m.read(*source_, m.final_norm, s.scratch), 1, D, c.rms_norm_eps);
  s.logits.resize(c.vocab_size);
  ops::matmul_forward(s.logits.data(), h.data(), m.read(*source_, m.head, s.scratch), nullptr, 1, D, c.vocab_size);
  return s.logits;
}

namespace {

int32_t pick_token(const std::vector<float>& logits, const SamplingOptions& o, std::mt19937_64& rng) {
  const int V = static_cast<int>(logits.size());
  if (o.temperature <= 0.0f) return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  const int keep_k = o.top_k > 0 ? std::min(o.top_k, V) : V;
  std::vector<double> p(keep_k);
  double sum = 0.0;
  for (int i = 0; i < keep_k; ++i) sum += p[i] = std::exp((logits[order[i]] - logits[order[0]]) / o.temperature);
  int keep = keep_k;
  double cumulative = 0.0;
  for (int i = 0; i < keep_k; ++i) {
    cumulative += p[i] / sum;
    if (cumulative >= o.top_p) {
      keep = i + 1;
      break;
    }
  }
  std::discrete_distribution<int> choose(p.begin(), p.begin() + keep);
  return order[choose(rng)];
}

}  // namespace

std::vector<int32_t> Generator::generate(const std::vector<int32_t>& prompt, const SamplingOptions& options,
                                         const std::function<void(int32_t)>& on_token) {
  reset();
  std::mt19937_64 rng(options.seed);
  std::vector<int32_t> out;
  const std::vector<float>* logits = &feed(prompt);
  for (int i = 0; i < options.max_new_tokens; ++i) {
    const int32_t next = pick_token(*logits, options, rng);
    if (next == options.stop_token) break;
    out.push_back(next);
    if (on_token) on_token(next);
    if (length_ >= model_.config().max_position_embeddings || i + 1 == options.max_new_tokens) break;
    logits = &feed({next});
  }
  return out;
}

}  // namespace qzo
