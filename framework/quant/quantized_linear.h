// A quantized linear layer: frozen k-bit codes and zero points plus trainable fp32 scales in
// a backend's memory, and the dequantization QZO runs twice per step, with every scale
// perturbed by an offset (W = (S + offset) * (Q - Z), or (S + offset) * C[Q] for NF4) so
// stored scales never drift. A double-quantized NF4 layer (nf4:double_quant=true, QLoRA's
// frozen base in bitsandbytes' layout) holds 8-bit absmax codes instead of fp32 scales and
// is never perturbed. Host copies of the parts are for save, hash, snapshot, tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/quant/quant_spec.h"
#include "framework/quant/quantizer.h"
#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo {

// A layer's stored parts, as a quantizer makes them or a checkpoint holds them.
struct QuantizedParts {
  std::vector<uint8_t> packed_codes;  // packing.h's layout, row by row
  std::vector<uint8_t> zero_points;   // rtn, gptq: one per scale; empty otherwise
  std::vector<float> scales;          // [out, groups] row-major
  std::vector<int32_t> g_idx;         // gptq act-order only: the group of each input column
  std::vector<float> codebooks;       // codebook only: [out, 2^bits] levels in [-1, 1]
};

// What calibration saw at a layer's input: H = 2/N · Σ x xᵀ over N rows, [in, in] row-major
// (GPTQ's Hessian of the layer-wise squared error; its diagonal weighs the codebook's k-means).
struct LayerCalibration {
  std::vector<double> hessian;
};

class QuantizedLinear {
 public:
  QuantizedLinear() = default;

  // Quantizes a row-major [out_features, in_features] fp32 weight. `name` (the HF tensor
  // name) appears in errors, e.g. when group_size does not divide in_features.
  // GPTQ and the codebook quantizer need `calibration` (its Hessian is [in, in]).
  static QuantizedLinear quantize(const float* W, int out_features, int in_features,
                                  const QuantSpec& spec, const std::string& name = "weight",
                                  Backend& backend = cpu_backend(), const LayerCalibration* calibration = nullptr);
  // Adopts parts made elsewhere (a quantizer, a checkpoint); checks every size and range.
  static QuantizedLinear from_parts(int out_features, int in_features, const QuantSpec& spec,
                                    const QuantizedParts& parts, const std::string& name = "weight",
                                    Backend& backend = cpu_backend());
  // The same for the parts every scalar layer has (no act-order, no codebook).
  static QuantizedLinear from_parts(int out_features, int in_features, const QuantSpec& spec,
                                    const std::vector<uint8_t>& packed_codes,
                                    const std::vector<uint8_t>& zero_points, const std::vector<float>& scales,
                                    const std::string& name = "weight", Backend& backend = cpu_backend());
  // The same for a double-quantized NF4 spec: codes in bitsandbytes' nibble order and the
  // absmax as double_quantize_absmax gives them.
  static QuantizedLinear from_double_quant_parts(int out_features, int in_features, const QuantSpec& spec,
                                                 const std::vector<uint8_t>& packed_codes,
                                                 const DoubleQuantizedAbsmax& absmax,
                                                 const std::string& name = "weight",
                                                 Backend& backend = cpu_backend());

  int out_features() const { return out_features_; }
  int in_features() const { return in_features_; }
  const QuantSpec& spec() const { return spec_; }  // group_size resolved (never 0)
  int group_size() const { return spec_.group_size; }
  int groups_per_row() const { return in_features_ / spec_.group_size; }
  size_t num_scales() const { return size_t(out_features_) * size_t(groups_per_row()); }
  size_t row_bytes() const { return row_bytes_; }
  bool double_quantized() const { return spec_.double_quant; }
  bool act_order() const { return !g_idx_.empty(); }
  Backend& backend() const { return *backend_; }

  // What the ops read: pointers into this layer's buffers.
  QuantizedWeightView view() const;
  // The trainable scales in backend memory ([out, in/g] row-major: scale j = row *
  // groups_per_row() + col / group_size()). Throws for a double-quantized layer.
  float* scales_data();

  // Host copies. Row r's codes are bytes [r*row_bytes(), (r+1)*row_bytes()) in packing.h's
  // layout (NibbleOrder::HighFirst when double-quantized); zero points are one per scale for
  // RTN (uint8, exact integers), empty for NF4.
  std::vector<uint8_t> packed_codes() const;
  std::vector<uint8_t> zero_points() const;
  // The fp32 scales; for a double-quantized layer its decoded absmax.
  std::vector<float> scales() const;
  // Throws unless num_scales() values, and for a double-quantized layer (a frozen base).
  void set_scales(const std::vector<float>& scales);
  DoubleQuantizedAbsmax double_quantized_absmax() const;  // throws unless double-quantized
  std::vector<int32_t> g_idx() const;     // empty unless act-order
  std::vector<float> codebooks() const;   // empty unless a codebook layer
  // Everything from_parts adopts (scalar and codebook layers; not double-quantized ones).
  QuantizedParts parts() const;
  uint8_t code(int row, int col) const;
  // Codes + zero points + fp32 scales, or codes + absmax codes + absmax2 + the offset.
  size_t storage_bytes() const;

  // W_out: [out_features, in_features] row-major fp32 in backend memory.
  void dequantize(float* W_out) const;
  // Scale j reads as scales()[j] + scale_offsets[j] (num_scales() offsets; CPU backend).
  void dequantize_perturbed(float* W_out, const float* scale_offsets) const;
  // The same with scale_offsets[j] = signed_eps * philox_normal(seed, stream, j), drawn on
  // the fly: bit for bit what filling that buffer and calling the overload above gives.
  // Multiplicative: scale j reads as scales()[j] · exp(signed_eps · z).
  void dequantize_perturbed(float* W_out, uint64_t seed, uint32_t stream, float signed_eps,
                            bool multiplicative = false) const;

 private:
  // An empty layer of this shape and spec (group size resolved); throws naming the layer.
  static QuantizedLinear shaped(int out_features, int in_features, const QuantSpec& spec, const std::string& name,
                                Backend& backend);

  Backend* backend_ = nullptr;
  int out_features_ = 0, in_features_ = 0;
  QuantSpec spec_;
  size_t row_bytes_ = 0;
  Buffer packed_codes_;  // weights
  Buffer zero_points_;   // weights (empty for NF4)
  Buffer scales_;        // trainable (empty when double-quantized)
  Buffer absmax_codes_;  // weights: double-quantized NF4 only, one 8-bit code per block
  Buffer absmax2_;       // weights: one fp32 per kDoubleQuantBlock absmax codes
  Buffer g_idx_;         // weights: act-order only, one int32 per input column
  Buffer codebooks_;     // weights: codebook only, 2^bits fp32 levels per row
  float absmax_offset_ = 0;
};

}  // namespace qzo
