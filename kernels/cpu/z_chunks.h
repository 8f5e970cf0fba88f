// z(seed, stream, ·) regenerated chunk by chunk for the CPU's element-wise ZO updates, so that
// no buffer the size of a tensor is ever made; chunks run on OpenMP threads for large n.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/philox.h"

namespace qzo::cpu {

constexpr int64_t kZChunk = 4096;

// f(begin, count, z) for consecutive chunks of [0, n), z holding z_begin .. z_{begin+count-1}.
template <typename F>
void over_z_chunks(int64_t n, uint64_t seed, uint32_t stream, F f) {
  const int64_t chunks = (n + kZChunk - 1) / kZChunk;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    float z[kZChunk];
    const int64_t begin = c * kZChunk, count = std::min(kZChunk, n - begin);
    qzo::philox_normal_fill(seed, stream, uint64_t(begin), size_t(count), z);
    f(begin, count, z);
  }
}

}  // namespace qzo::cpu
