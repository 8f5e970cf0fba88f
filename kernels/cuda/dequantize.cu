// Dequantization of a packed RTN/GPTQ (2/3/4/8-bit, act-order too), NF4 or codebook matrix,
// optionally with QZO's scale perturbation (S + ε·z or S·exp(ε·z)) fused in: one thread block per tile of rows stages the tile's scales in
// shared memory (z drawn once per scale, or a double-quantized absmax decoded once per block),
// then writes the tile's weights coalesced.
#include "kernels/error.h"
#include <string>

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/dense_read_math.h"
#include "kernels/cuda/dequantize_math.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/philox_blocks.h"
#include "kernels/nf4.h"

namespace qzo::cuda {

namespace {

// kNf4Codebook copied into constant memory at compile time (no second list of the 16 levels).
struct Nf4Levels {
  float level[16];
};
constexpr Nf4Levels nf4_levels() {
  Nf4Levels t{};
  for (int q = 0; q < 16; ++q) t.level[q] = kNf4Codebook[q];
  return t;
}
__constant__ Nf4Levels kNf4Device = nf4_levels();
// The signed dynamic map of double-quantized absmax, likewise from its host definition.
__constant__ DynamicMap kDynamicMapDevice = kSignedDynamicMap;

// Shared memory per block bounds a tile's scales (the default 48 KiB limit).
constexpr int64_t kMaxTileScales = 48 * 1024 / sizeof(float);

template <typename Out>
__global__ void dequantize_kernel(Out* out, QuantizedWeightView w, bool perturbed, ZoPerturbation p) {
  extern __shared__ float staged[];
  const int groups = w.in_features / w.group_size;
  const int tile_rows = dequantize_tile_rows(w.in_features);
  const int r0 = int(blockIdx.x) * tile_rows;
  const int rows = min(tile_rows, w.out_features - r0);
  const uint64_t j0 = uint64_t(r0) * groups, j1 = j0 + uint64_t(rows) * groups;
  if (perturbed) {
    const PhiloxKey key = philox_key(p.seed);
    const uint64_t first = first_philox_block(j0), blocks = philox_block_count(j0, j1);
    for (uint64_t b = threadIdx.x; b < blocks; b += blockDim.x)
      philox_block_normals(key, p.stream, first + b, j0, j1, [&](uint64_t j, float z) {
        staged[j - j0] = perturbed_scale(w.scales[j], p, z);
      });
  } else {
    for (uint64_t j = j0 + threadIdx.x; j < j1; j += blockDim.x)
      staged[j - j0] = stored_scale(w, j, kDynamicMapDevice.value);
  }
  __syncthreads();
  const int64_t n = int64_t(rows) * w.in_features;
  Out* tile_out = out + int64_t(r0) * w.in_features;
  for (int64_t e = threadIdx.x; e < n; e += blockDim.x)
    store_element(tile_out, e, tile_weight(w, r0, e, staged, kNf4Device.level));
}

void check_view(const QuantizedWeightView& w) {
  const bool bits_ok = w.format == CodeFormat::Nf4        ? w.bits == 4
                       : w.format == CodeFormat::Codebook ? (w.bits >= 2 && w.bits <= 4)
                                                          : (w.bits == 2 || w.bits == 3 || w.bits == 4 || w.bits == 8);
  if (!bits_ok || w.group_size <= 0 || w.in_features % w.group_size != 0)
    fail("cuda dequantize: unsupported layout (bits " + std::to_string(w.bits) +
                                ", group_size " + std::to_string(w.group_size) + ", in_features " +
                                std::to_string(w.in_features) + ")");
  if (w.nibble_order == NibbleOrder::HighFirst && w.bits != 4)
    fail("cuda dequantize: the high-nibble-first order is for 4-bit codes, got " + std::to_string(w.bits) + " bits");
  if (w.double_quantized() && w.format != CodeFormat::Nf4)
    fail("cuda dequantize: double-quantized scales are NF4 absmax, but the view holds scalar codes");
}

template <typename Out>
void launch_dequantize(Backend& be, Out* out, const QuantizedWeightView& w, const ZoPerturbation* perturbation) {
  check_view(w);
  refuse_perturbed_double_quant(w, perturbation != nullptr, "cuda dequantize");
  if (w.out_features == 0 || w.in_features == 0) return;
  const int tile_rows = dequantize_tile_rows(w.in_features);
  const int64_t tile_scales = int64_t(tile_rows) * w.groups_per_row();
  if (tile_scales > kMaxTileScales)
    fail("cuda dequantize: " + std::to_string(tile_scales) +
                                " scales per row exceed one block's shared memory");
  const unsigned tiles = unsigned((w.out_features + tile_rows - 1) / tile_rows);
  dequantize_kernel<<<tiles, kThreads, size_t(tile_scales) * sizeof(float), stream_of(be)>>>(
      out, w, perturbation != nullptr, perturbation ? *perturbation : ZoPerturbation{});
  cuda_check(cudaGetLastError());
}

}  // namespace

void dequantize_into(Backend& be, float* out, const QuantizedWeightView& w, const ZoPerturbation* perturbation) {
  launch_dequantize(be, out, w, perturbation);
}
void dequantize_into(Backend& be, uint16_t* bf16_out, const QuantizedWeightView& w,
                     const ZoPerturbation* perturbation) {
  launch_dequantize(be, bf16_out, w, perturbation);
}

void dequantize(Backend& be, float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation) {
  launch_dequantize(be, W_out, w, perturbation);
}

}  // namespace qzo::cuda
