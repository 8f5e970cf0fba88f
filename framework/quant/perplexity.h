// Perplexity of a model (read through any WeightSource) on held-out documents: each
// document is cut into non-overlapping windows of at most seq_len inputs, and every token
// after a document's first is predicted exactly once, from its own window's context.
#pragma once
#include <cstdint>
#include <vector>

#include "framework/model/model.h"

namespace qzo {

// Summed NLL (nats) and the number of predicted tokens; windows run batch_rows at a time.
// Throws when seq_len is outside [1, max_position_embeddings] or no document has two tokens.
LossSums heldout_loss(const Model& model, const WeightSource* source,
                      const std::vector<std::vector<int32_t>>& docs, int seq_len, int batch_rows = 16);

// exp(summed NLL / predicted tokens).
double perplexity(const Model& model, const WeightSource* source,
                  const std::vector<std::vector<int32_t>>& docs, int seq_len, int batch_rows = 16);

}  // namespace qzo
