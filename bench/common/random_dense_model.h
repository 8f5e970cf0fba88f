// An unquantized Llama of any shape with random weights in bf16, fp16 or fp32, built directly on
// a backend one tensor at a time (no fp32 copy of the model ever exists), for benchmarks of
// MeZO at 7B/13B shapes without a checkpoint.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/common/bench_rng.h"
#include "framework/core/dtype.h"
#include "framework/model/config.h"
#include "framework/model/model.h"
#include "kernels/backend.h"

namespace qzo::bench {

// Linear weights and embeddings uniform with std 0.02, norms 1, biases 0, stored as `storage`.
// Tensors of one shape share their values (timing and memory do not depend on them).
Model random_dense_model(const ModelConfig& config, DType storage, Backend& backend, uint64_t seed);

// `n` values stored as `storage` (bytes): 1 for a norm, 0 for a bias, else uniform with std
// 0.02; converted from fp32 a block at a time (never n fp32 values beside them).
std::vector<uint8_t> random_dense_values(size_t n, bool norm, bool bias, DType storage, Rng& rng);

}  // namespace qzo::bench
