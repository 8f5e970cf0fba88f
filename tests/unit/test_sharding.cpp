// Data sharding as a specification: slices are contiguous, disjoint, balanced to within one
// example, and a step's global batch depends on (seed, step) alone.
#include <gtest/gtest.h>

#include <set>

#include "framework/dist/sharding.h"

namespace qzo {
namespace {

TEST(Sharding, SlicesAreContiguousDisjointAndBalanced) {
  for (size_t count : {0, 1, 7, 16, 17}) {
    for (int size : {1, 2, 3, 5}) {
      size_t next = 0, smallest = count, largest = 0;
      for (int rank = 0; rank < size; ++rank) {
        const ShardRange r = shard_range(count, rank, size);
        EXPECT_EQ(r.begin, next) << count << " over " << size;
        next = r.end;
        smallest = std::min(smallest, r.size());
        largest = std::max(largest, r.size());
      }
      EXPECT_EQ(next, count);
      EXPECT_LE(largest - smallest, 1u);
    }
  }
}

TEST(Sharding, RankOutsideTheWorldIsAnError) { EXPECT_ANY_THROW(shard_range(8, 2, 2)); }

TEST(BatchSampler, GlobalBatchDependsOnlyOnSeedAndStep) {
  BatchSampler forward(50, 8, 3), backward(50, 8, 3), other_seed(50, 8, 4);
  std::vector<std::vector<size_t>> batches;
  for (int64_t step = 0; step < 20; ++step) batches.push_back(forward.global_batch(step));
  for (int64_t step = 19; step >= 0; --step) EXPECT_EQ(backward.global_batch(step), batches[step]);
  EXPECT_NE(other_seed.global_batch(0), batches[0]);
}

TEST(BatchSampler, EachEpochVisitsEveryExampleOnce) {
  // 5 steps of 10 over 50 examples is exactly one epoch; the next 5 steps are another.
  BatchSampler sampler(50, 10, 9);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<size_t> seen;
    for (int64_t step = 5 * epoch; step < 5 * epoch + 5; ++step)
      for (size_t i : sampler.global_batch(step)) seen.insert(i);
    EXPECT_EQ(seen.size(), 50u);
    EXPECT_EQ(std::set<size_t>(seen.begin(), seen.end()).size(), 50u);
  }
}

TEST(BatchSampler, ShardsConcatenateToTheGlobalBatch) {
  BatchSampler sampler(13, 7, 1);
  for (int64_t step = 0; step < 6; ++step) {
    std::vector<size_t> joined;
    for (int rank = 0; rank < 3; ++rank)
      for (size_t i : sampler.shard(step, rank, 3)) joined.push_back(i);
    EXPECT_EQ(joined, sampler.global_batch(step));
  }
}

}  // namespace
}  // namespace qzo
