// Held-out perplexity over non-overlapping per-document windows. Windows are batched
// longest first with each batch as long as its longest window, so that short emails do
// not pay for padding to seq_len.
#include "framework/quant/perplexity.h"

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"

namespace qzo {

namespace {

struct Window {
  size_t doc, start;
  int inputs;  // tokens doc[start, start + inputs) predict doc[start + 1, start + inputs + 1)
};

}  // namespace

LossSums heldout_loss(const Model& model, const WeightSource* source,
                      const std::vector<std::vector<int32_t>>& docs, int seq_len, int batch_rows) {
  const int max_len = model.config().max_position_embeddings;
  if (seq_len < 1 || seq_len > max_len)
    fail("perplexity: seq_len " + std::to_string(seq_len) + " is outside [1, " + std::to_string(max_len) +
         "] (the model's max_position_embeddings)");
  if (batch_rows < 1) fail("perplexity: batch_rows must be positive, got " + std::to_string(batch_rows));
  std::vector<Window> windows;
  for (size_t d = 0; d < docs.size(); ++d)
    for (size_t s = 0; s + 1 < docs[d].size(); s += static_cast<size_t>(seq_len))
      windows.push_back({d, s, static_cast<int>(std::min<size_t>(seq_len, docs[d].size() - 1 - s))});
  if (windows.empty()) fail("perplexity: no document has two tokens, so there is nothing to predict");
  std::stable_sort(windows.begin(), windows.end(), [](const Window& a, const Window& b) { return a.inputs > b.inputs; });

  LossSums total;
  for (size_t first = 0; first < windows.size(); first += static_cast<size_t>(batch_rows)) {
    const size_t last = std::min(windows.size(), first + static_cast<size_t>(batch_rows));
    Batch b;
    b.B = static_cast<int>(last - first);
    b.T = windows[first].inputs;
    // Padding sits after each window's tokens: causal attention keeps it out of their
    // predictions, and its targets are masked.
    b.tokens.assign(static_cast<size_t>(b.B) * b.T, 0);
    b.targets.assign(b.tokens.size(), -1);
    for (size_t w = first; w < last; ++w) {
      const std::vector<int32_t>& doc = docs[windows[w].doc];
      const size_t row = (w - first) * static_cast<size_t>(b.T);
      for (int t = 0; t < windows[w].inputs; ++t) {
        b.tokens[row + t] = doc[windows[w].start + t];
        b.targets[row + t] = doc[windows[w].start + t + 1];
      }
    }
    const LossSums s = model.forward_loss(b, source);
    total.total_loss += s.total_loss;
    total.total_count += s.total_count;
  }
  return total;
}

double perplexity(const Model& model, const WeightSource* source, const std::vector<std::vector<int32_t>>& docs,
                  int seq_len, int batch_rows) {
  return std::exp(heldout_loss(model, source, docs, seq_len, batch_rows).mean());
}

}  // namespace qzo
