#include "framework/model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "framework/core/error.h"
#include "framework/model/model_impl.h"
#include "kernels/ops.h"

namespace qzo {

// The KV cache and the pass's activations live on the model's backend.
struct Generator::State {
  explicit State(Backend& be) : acts(be, MemoryComponent::Activations) {}
  std::vector<Buffer> k_cache, v_cache;  // per layer [max_pos, kv_dim]
  Workspace acts;
  std::vector<float> logits;
};

Generator::Generator(const Model& model, const WeightSource* source)
    : model_(model), source_(source ? source : &model.stored_weights()),
      state_(std::make_unique<State>(model.backend())) {
  const ModelConfig& c = model.config();
  const size_t cache = static_cast<size_t>(c.max_position_embeddings) * c.kv_dim() * sizeof(float);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    state_->k_cache.push_back(model.backend().alloc(cache, MemoryComponent::Activations));
    state_->v_cache.push_back(model.backend().alloc(cache, MemoryComponent::Activations));
  }
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
  Backend& be = *m.backend;
  const int D = c.hidden_size;
  s.acts.reset();
  int32_t* tok = s.acts.take<int32_t>(n);
  be.upload(tok, tokens.data(), sizeof(int32_t) * n);
  std::vector<int32_t> pos_host(n);
  std::iota(pos_host.begin(), pos_host.end(), length_);
  int32_t* pos = s.acts.take<int32_t>(n);
  be.upload(pos, pos_host.data(), sizeof(int32_t) * n);
  float* x = s.acts.take<float>(static_cast<size_t>(n) * D);
  const LayerActivations a = m.take_layer_activations(s.acts, 1, n, length_ + n, false);
  ops::embedding_lookup(be, x, tok, source_->operand(m.embed), n, D);
  for (int l = 0; l < c.num_hidden_layers; ++l)
    m.layer_forward(l, *source_, x, 1, n, length_ + n, pos, s.k_cache[l].as<float>(), s.v_cache[l].as<float>(), a,
                    false);
  length_ += n;
  const float* last = x + static_cast<size_t>(n - 1) * D;
  float* h = s.acts.take<float>(D);
  float* logits = s.acts.take<float>(c.vocab_size);
  ops::rmsnorm_forward(be, h, nullptr, last, m.vector(*source_, m.final_norm), 1, D, c.rms_norm_eps);
  m.linear(*source_, m.head, -1, logits, h, 1, D, c.vocab_size);
  s.logits = download_vector(be, logits, c.vocab_size);
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
