// Calibration for the quantizers that need activations (GPTQ, codebook): token windows of
// text the model was pretrained on, and the sequential quantization of a model block by
// block, each decoder layer's Hessians H = 2/N · Σ x xᵀ taken at its linear layers' inputs
// with every earlier layer already quantized (GPTQ's order, §4 of the paper).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "framework/model/model.h"
#include "framework/quant/quant_spec.h"
#include "framework/quant/quantized_linear.h"

namespace qzo {

class QuantizedModel;
class Tokenizer;

struct CalibrationSet {
  int seq_len = 0;
  std::vector<std::vector<int32_t>> windows;  // each seq_len tokens, no padding
  std::string describe() const;               // "128 × 128 tokens of <source>"
  std::string source;
};

// `samples` windows of `seq_len` tokens cut one after another from BOS + text of `texts`
// taken in an order shuffled by `seed`. Throws naming `source` when they hold too few tokens.
CalibrationSet text_calibration(const Tokenizer& tokenizer, const std::vector<std::string>& texts, int samples,
                                int seq_len, uint64_t seed, const std::string& source);
// The same over the pretraining split's emails (never the held-out ones, which perplexity and
// the tasks use).
CalibrationSet corpus_calibration(const Tokenizer& tokenizer, int samples, int seq_len, uint64_t seed);

// Rows per calibration forward.
constexpr int kCalibrationBatchRows = 16;

// The Hessian of each linear weight in `ids` over the calibration windows, read through
// `source` (the model's stored weights, with earlier layers quantized).
std::vector<LayerCalibration> collect_hessians(const Model& model, const WeightSource& source,
                                               const std::vector<int>& ids, const CalibrationSet& data);

}  // namespace qzo
