// Which examples each rank reads (DESIGN.md §2). A step's global batch is a pure function
// of (seed, step): positions step·B … step·B+B−1 of an endless run of seeded epoch
// permutations. Each rank then takes one contiguous slice of it, so the ranks together
// read every example of the batch exactly once, whatever the world size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qzo {

// [begin, end) of `count` items owned by `rank` of `size`; slice lengths differ by at
// most one (uneven shards are fine: ranks reduce sums and counts, never means).
struct ShardRange {
  size_t begin = 0, end = 0;
  size_t size() const { return end - begin; }
};
ShardRange shard_range(size_t count, int rank, int size);

class BatchSampler {
 public:
  BatchSampler(size_t n_examples, int batch_size, uint64_t seed);
  // Example indices of step's global batch, in order (identical on every rank).
  std::vector<size_t> global_batch(int64_t step);
  // This rank's share of step's global batch.
  std::vector<size_t> shard(int64_t step, int rank, int size);

 private:
  const std::vector<size_t>& epoch_order(uint64_t epoch);
  size_t n_;
  int batch_size_;
  uint64_t seed_;
  uint64_t cached_epoch_ = UINT64_MAX;
  std::vector<size_t> cached_order_;
};

template <typename T>
std::vector<T> take_shard(const std::vector<T>& all, int rank, int size) {
  const ShardRange r = shard_range(all.size(), rank, size);
  return std::vector<T>(all.begin() + static_cast<std::ptrdiff_t>(r.begin),
                        all.begin() + static_cast<std::ptrdiff_t>(r.end));
}

}  // namespace qzo
