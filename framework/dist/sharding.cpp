#include "framework/dist/sharding.h"

#include <algorithm>

#include "framework/core/error.h"
#include "framework/tasks/task.h"

namespace qzo {

ShardRange shard_range(size_t count, int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    fail("shard_range: rank " + std::to_string(rank) + " is outside a world of " + std::to_string(size));
  const size_t base = count / static_cast<size_t>(size), extra = count % static_cast<size_t>(size);
  const size_t r = static_cast<size_t>(rank);
  ShardRange out;
  out.begin = r * base + std::min(r, extra);
  out.end = out.begin + base + (r < extra ? 1 : 0);
  return out;
}

BatchSampler::BatchSampler(size_t n_examples, int batch_size, uint64_t seed)
    : n_(n_examples), batch_size_(batch_size), seed_(seed) {
  if (n_examples == 0) fail("BatchSampler: no training examples");
  if (batch_size < 1) fail("BatchSampler: batch size must be positive");
}

const std::vector<size_t>& BatchSampler::epoch_order(uint64_t epoch) {
  if (epoch != cached_epoch_) {
    cached_order_ = seeded_permutation(n_, seed_ * 1000003ULL + epoch);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

std::vector<size_t> BatchSampler::global_batch(int64_t step) {
  std::vector<size_t> batch;
  batch.reserve(static_cast<size_t>(batch_size_));
  const uint64_t first = static_cast<uint64_t>(step) * static_cast<uint64_t>(batch_size_);
  for (uint64_t i = first; i < first + static_cast<uint64_t>(batch_size_); ++i)
    batch.push_back(epoch_order(i / n_)[i % n_]);
  return batch;
}

std::vector<size_t> BatchSampler::shard(int64_t step, int rank, int size) {
  return take_shard(global_batch(step), rank, size);
}

}  // namespace qzo
