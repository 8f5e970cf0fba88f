// A quantized Llama of any shape with random codes, zero points and scales, built directly on
// a backend one layer at a time (no fp32 copy of the model ever exists), for benchmarks that
// time the forward and the QZO step at 7B/13B shapes without a checkpoint.
#pragma once
#include <cstdint>
#include <string>

#include "framework/model/config.h"
#include "framework/quant/quantized_model.h"
#include "kernels/backend.h"

namespace qzo::bench {

struct RandomModel {
  QuantizedModel model;
  std::string how;  // how it was built, for the benchmark's notes
};

// Codes uniform over [0, 2^bits), zero points 2^(bits-1) - 1 or 2^(bits-1), scales uniform
// in [0.005, 0.009] (weights of std ~0.03); embeddings and LM head uniform with std 0.02 in
// `dense` (BF16 or F32), norms 1. Layers of one shape share their host codes (timing does not
// depend on them). RTN specs only.
RandomModel random_quantized_model(const ModelConfig& config, const QuantSpec& spec, DType dense, Backend& backend,
                                   uint64_t seed);

}  // namespace qzo::bench
