// How a ZO kernel draws z: each thread owns one Philox counter block, i.e. the four
// elements 4·block .. 4·block+3 of (seed, stream), and hands those inside [begin, end) to
// `sink(index, z)`. Kernels and their host tests both go through this one function.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/philox.h"

namespace qzo {

// Counter blocks that cover the element range [begin, end), end > begin.
QZO_HD inline uint64_t first_philox_block(uint64_t begin) { return begin / 4; }
QZO_HD inline uint64_t philox_block_count(uint64_t begin, uint64_t end) { return (end - 1) / 4 - begin / 4 + 1; }

template <typename Sink>
QZO_HD inline void philox_block_normals(PhiloxKey key, uint32_t stream, uint64_t block, uint64_t begin,
                                        uint64_t end, Sink&& sink) {
  float z[4];
  philox_normal4(key, stream, block, z);
  for (int lane = 0; lane < 4; ++lane) {
    const uint64_t index = 4 * block + uint64_t(lane);
    if (index >= begin && index < end) sink(index, z[lane]);
  }
}

}  // namespace qzo
