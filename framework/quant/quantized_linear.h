// A quantized linear layer: frozen k-bit codes and zero points plus trainable fp32 scales,
// and the dequantization QZO runs twice per step, with every scale perturbed by an offset
// (W = (S + offset) * (Q - Z), or (S + offset) * C[Q] for NF4) so stored scales never drift.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/quant/quant_spec.h"

namespace qzo {

class QuantizedLinear {
 public:
  QuantizedLinear() = default;

  // Quantizes a row-major [out_features, in_features] fp32 weight. `name` (the HF tensor
  // name) appears in errors, e.g. when group_size does not divide in_features.
  static QuantizedLinear quantize(const float* W, int out_features, int in_features,
                                  const QuantSpec& spec, const std::string& name = "weight");
  // Adopts codes/zero points/scales made elsewhere (a checkpoint); checks every size.
  static QuantizedLinear from_parts(int out_features, int in_features, const QuantSpec& spec,
                                    std::vector<uint8_t> packed_codes,
                                    std::vector<uint8_t> zero_points, std::vector<float> scales,
                                    const std::string& name = "weight");

  int out_features() const { return out_features_; }
  int in_features() const { return in_features_; }
  const QuantSpec& spec() const { return spec_; }  // group_size resolved (never 0)
  int group_size() const { return spec_.group_size; }
  int groups_per_row() const { return in_features_ / spec_.group_size; }
  size_t num_scales() const { return scales_.size(); }
  size_t row_bytes() const { return row_bytes_; }

  // Row r's codes are bytes [r*row_bytes(), (r+1)*row_bytes()) in packing.h's layout.
  const std::vector<uint8_t>& packed_codes() const { return packed_codes_; }
  // One per scale for RTN ([out, in/g], uint8, exact integers); empty for NF4.
  const std::vector<uint8_t>& zero_points() const { return zero_points_; }
  // [out, in/g] row-major: scale j = row * groups_per_row() + col / group_size().
  const std::vector<float>& scales() const { return scales_; }
  std::vector<float>& scales() { return scales_; }
  uint8_t code(int row, int col) const;
  size_t storage_bytes() const;  // codes + zero points + fp32 scales

  // W_out: [out_features, in_features] row-major fp32.
  void dequantize(float* W_out) const;
  // Scale j reads as scales()[j] + scale_offsets[j] (num_scales() offsets).
  void dequantize_perturbed(float* W_out, const float* scale_offsets) const;
  // The same with scale_offsets[j] = signed_eps * philox_normal(seed, stream, j), drawn per
  // tile of rows on the fly: bit for bit what filling that buffer and calling the overload
  // above gives.
  void dequantize_perturbed(float* W_out, uint64_t seed, uint32_t stream, float signed_eps) const;

 private:
  // An empty layer of this shape and spec (group size resolved); throws naming the layer.
  static QuantizedLinear shaped(int out_features, int in_features, const QuantSpec& spec, const std::string& name);
  struct Scratch;
  void dequantize_row(int row, const float* row_offsets, float* out, Scratch& scratch) const;

  int out_features_ = 0, in_features_ = 0;
  QuantSpec spec_;
  size_t row_bytes_ = 0;
  std::vector<uint8_t> packed_codes_;
  std::vector<uint8_t> zero_points_;
  std::vector<float> scales_;
};

}  // namespace qzo
