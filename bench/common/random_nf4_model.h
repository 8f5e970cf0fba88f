// QLoRA's frozen base of any Llama shape with random weights: NF4 codes with double-quantized
// absmax (nf4:double_quant=true, bitsandbytes' layout) on a backend, built one layer at a time
// (no fp32 copy of the model ever exists), for benchmarks of a QLoRA step at 7B/13B shapes
// without a checkpoint.
#pragma once
#include <cstdint>

#include "bench/common/random_quantized_model.h"

namespace qzo::bench {

// Each linear weight shape gets one random fp32 weight (uniform, std 0.02), quantized by
// QuantizedLinear::quantize on a scratch backend; its codes and double-quantized absmax are then
// uploaded to `backend` for every layer of that shape (QuantizedLinear::from_double_quant_parts,
// QuantizedModel::from_layers). Embeddings and LM head uniform with std 0.02 in `dense` (F32, as
// QLoRA's trainer loads them, or BF16), norms 1. `spec` must be NF4 with double_quant.
RandomModel random_nf4_model(const ModelConfig& config, const QuantSpec& spec, DType dense, Backend& backend,
                             uint64_t seed);

}  // namespace qzo::bench
