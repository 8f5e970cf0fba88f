// KV-cached text generation for one sequence: prefill the prompt in one pass, then one
// token per step, greedy or sampled (temperature, top-k, top-p), stopping at EOS.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "framework/model/model.h"

namespace qzo {

struct SamplingOptions {
  int max_new_tokens = 64;
  float temperature = 0.0f;  // 0 = greedy
  int top_k = 0;             // 0 = whole vocabulary
  float top_p = 1.0f;
  uint64_t seed = 0;
  int32_t stop_token = -1;   // usually the tokenizer's EOS; -1 never stops early
};

class Generator {
 public:
  explicit Generator(const Model& model, const WeightSource* source = nullptr);
  ~Generator();
  // Returns only the new tokens. on_token (if given) sees each token as it is produced.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, const SamplingOptions& options,
                                const std::function<void(int32_t)>& on_token = nullptr);
  // Next-token logits after feeding `tokens` at the current end of the cache.
  const std::vector<float>& feed(const std::vector<int32_t>& tokens);
  void reset();
  int length() const { return length_; }

 private:
  struct State;
  const Model& model_;
  const WeightSource* source_;
  std::unique_ptr<State> state_;
  int length_ = 0;
};

}  // namespace qzo
