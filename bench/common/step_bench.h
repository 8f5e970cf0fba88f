// What the step benchmarks share: a wall-clock timer, the median, the default model (or a
// random one of its shape) and a spam-shaped batch of B prompts of T random tokens with two
// single-token candidates.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "framework/core/paths.h"
#include "framework/model/model.h"
#include "framework/train/task_encoding.h"

namespace qzo::bench {

inline double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline Model default_shaped_model(const std::string& dir) {
  if (file_exists(dir + "/config.json")) return Model::load(dir);
  ModelConfig c;
  c.vocab_size = 4096; c.hidden_size = 192; c.intermediate_size = 512; c.num_hidden_layers = 4;
  c.num_attention_heads = 6; c.num_key_value_heads = 2; c.head_dim = 32; c.max_position_embeddings = 256;
  c.tie_word_embeddings = true;
  return Model::init(c, 1);
}

inline std::vector<EncodedExample> spam_shaped_batch(int B, int T, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::vector<EncodedExample> batch(B);
  for (auto& e : batch) {
    for (int t = 0; t < T; ++t) e.prompt.push_back(static_cast<int32_t>(rng() % 4000 + 2));
    e.candidates = {{100}, {200}};
    e.label = static_cast<int>(rng() % 2);
  }
  return batch;
}

}  // namespace qzo::bench
