// Per-weight math of the CUDA dequantization (kernels/cuda/dequantize.cu), shared with its
// host test. A thread block owns a tile of whole rows: it stages the tile's scales (read as
// S + ε·z when perturbed) in shared memory, then writes the tile's weights coalesced.
#pragma once
#include <cstdint>

#include "kernels/rounding.h"
#include "kernels/scale_perturbation.h"
#include "kernels/double_quant.h"
#include "kernels/hd.h"
#include "kernels/weight_operand.h"

namespace qzo {

// Weights per tile the kernel aims for; a tile is at least one row.
constexpr int64_t kDequantizeTileWeights = 8192;

QZO_HD inline int dequantize_tile_rows(int in_features) {
  const int64_t rows = kDequantizeTileWeights / in_features;
  return rows > 0 ? int(rows) : 1;
}

// Code `index` of one row's little-endian bit stream (packing.h); a 3-bit code may
// straddle two bytes. HighFirst (4-bit, bitsandbytes): code 2k is byte k's high nibble.
QZO_HD inline uint32_t unpack_code(const uint8_t* row, int64_t index, int bits, NibbleOrder order) {
  if (order == NibbleOrder::HighFirst) return (uint32_t(row[index / 2]) >> (index % 2 ? 0 : 4)) & 0xFu;
  const int64_t bit = index * bits;
  uint32_t window = row[bit / 8];
  if (bit % 8 + bits > 8) window |= uint32_t(row[bit / 8 + 1]) << 8;
  return (window >> (bit % 8)) & ((1u << bits) - 1u);
}

// Scale j as stored: the fp32 scale, or a double-quantized absmax decoded through
// `dynamic_map` (kSignedDynamicMap's values, in constant memory on the device).
QZO_HD inline float stored_scale(const QuantizedWeightView& w, uint64_t j, const float* dynamic_map) {
  if (!w.double_quantized()) return w.scales[j];
  const DoubleQuantizedScales& d = w.double_quant;
  return double_quant_absmax(dynamic_map[d.absmax_codes[j]], d.absmax2[j / kDoubleQuantBlock], d.offset);
}

// S + ε·z or S·exp(ε·z) with ε·z rounded first, as the CPU reference reads a scale.
QZO_HD inline float perturbed_scale(float stored, const ZoPerturbation& p, float z) {
  return apply_scale_perturbation(stored, scale_perturbation(p.signed_eps, z, p.multiplicative), p.multiplicative);
}

// s·(q − zero), or s·levels[q] (NF4, codebooks): one rounding each, as the CPU's per-group tables.
QZO_HD inline float dequantize_weight(uint32_t code, float zero, float scale, const float* levels) {
  return levels ? scale * levels[code] : scale * (float(code) - zero);
}

// Weight e (= local row · in_features + column) of the tile whose first row is r0, given
// the tile's staged scales.
// `nf4_levels` is the caller's copy of kNf4Codebook (constant memory on the device).
QZO_HD inline float tile_weight(const QuantizedWeightView& w, int r0, int64_t e, const float* staged_scales,
                                const float* nf4_levels) {
  const int groups = w.in_features / w.group_size;
  const int local_row = int(e / w.in_features);
  const int col = int(e % w.in_features);
  const int k = w.group_of(col);
  const int64_t row = int64_t(r0) + local_row;
  const uint32_t code = unpack_code(w.packed_codes + row * int64_t(w.row_bytes), col, w.bits, w.nibble_order);
  const float* levels = w.row_levels(row, nf4_levels);
  const float zero = levels ? 0.0f : float(w.zero_points[row * groups + k]);
  return dequantize_weight(code, zero, staged_scales[int64_t(local_row) * groups + k], levels);
}

}  // namespace qzo
