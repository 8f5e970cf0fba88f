// The smallest decoder the model tests differentiate by finite differences: 2 layers, d 8,
// GQA 4/2 heads, vocabulary 11, and a batch of two rows whose prompt positions are masked.
#pragma once
#include "framework/model/model.h"

namespace qzo::testing {

inline ModelConfig tiny_config(bool bias = false, bool tied = false) {
  ModelConfig c;
  c.vocab_size = 11;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 4;
  c.max_position_embeddings = 16;
  c.attention_bias = bias;
  c.tie_word_embeddings = tied;
  return c;
}

inline Batch tiny_batch() {
  Batch b;
  b.B = 2;
  b.T = 5;
  b.tokens = {1, 4, 2, 9, 3, 5, 5, 0, 10, 7};
  b.targets = {-1, 2, 9, 3, 6, -1, -1, 10, 7, 1};  // prompt positions masked
  return b;
}

}  // namespace qzo::testing
