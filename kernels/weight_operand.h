// How an op reads a weight: plain views over backend memory, so that kernels know nothing
// of models or methods. A weight is either dense (stored values of some dtype) or quantized
// (packed codes, zero points, scales), and either may carry a ZO perturbation applied where
// it is read: dense values read as w + ε·z, quantized scales as S + ε·z, with
// z = philox_normal(seed, stream, element). The stored values are never written.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/dtype.h"
#include "kernels/error.h"
#include "kernels/hd.h"
#include "kernels/packing.h"

namespace qzo {

// ±ε·z on every element that the perturbation covers (weights for MeZO, scales for QZO).
// Multiplicative (scales only): S·exp(±ε·z), SPSA on log S, so that ε is relative to each
// scale and transfers between quantizers whose scales differ by orders of magnitude.
struct ZoPerturbation {
  uint64_t seed = 0;
  uint32_t stream = 0;     // the parameter's (or quantized layer's) id
  float signed_eps = 0.0f;  // +ε or −ε
  bool multiplicative = false;
};

// s·(q − z) (RTN, GPTQ), s·C[q] (NF4's fixed levels) or s·C_r[q] (a k-means codebook per row).
enum class CodeFormat { Scalar, Nf4, Codebook };

// NF4 absmax stored double-quantized (QLoRA's double quantization; kernels/double_quant.h):
// scale j reads as kSignedDynamicMap[absmax_codes[j]] · absmax2[j / 256] + offset.
struct DoubleQuantizedScales {
  const uint8_t* absmax_codes = nullptr;  // one per scale
  const float* absmax2 = nullptr;         // one per kDoubleQuantBlock absmax codes
  float offset = 0;                       // the mean absmax, subtracted before quantizing
};

// One quantized [out_features, in_features] matrix in packing.h's layout: row r's codes are
// bytes [r·row_bytes, (r+1)·row_bytes); scale and zero point j = r·groups + col/group_size.
// A double-quantized NF4 view (bitsandbytes' layout) has HighFirst nibbles, no fp32 scales
// and its absmax in double_quant. GPTQ's act-order (desc_act) assigns input columns to groups
// out of order: column c then reads scale and zero point r·groups + g_idx[c].
struct QuantizedWeightView {
  int out_features = 0, in_features = 0, group_size = 0, bits = 0;
  CodeFormat format = CodeFormat::Scalar;
  size_t row_bytes = 0;
  const uint8_t* packed_codes = nullptr;
  const uint8_t* zero_points = nullptr;  // null for Nf4
  const float* scales = nullptr;         // null when double-quantized
  NibbleOrder nibble_order = NibbleOrder::LowFirst;
  DoubleQuantizedScales double_quant;
  const float* codebooks = nullptr;  // Codebook: 2^bits levels per row, [out_features, 2^bits]
  const int32_t* g_idx = nullptr;    // act-order: the group of each input column; null = c / group_size
  QZO_HD bool double_quantized() const { return double_quant.absmax_codes != nullptr; }
  // The levels codes index (null for scalar codes): NF4's are the caller's copy of kNf4Codebook.
  QZO_HD const float* row_levels(int64_t row, const float* nf4_levels) const {
    if (format == CodeFormat::Nf4) return nf4_levels;
    if (format == CodeFormat::Codebook) return codebooks + row * (int64_t(1) << bits);
    return nullptr;
  }
  QZO_HD int group_of(int col) const { return g_idx ? g_idx[col] : col / group_size; }
  int groups_per_row() const { return in_features / group_size; }
  size_t num_scales() const { return size_t(out_features) * size_t(groups_per_row()); }
  size_t numel() const { return size_t(out_features) * size_t(in_features); }
};

struct DenseWeightView {
  DType dtype = DType::F32;
  const void* values = nullptr;
  size_t numel = 0;
};

struct WeightOperand {
  enum class Kind { Dense, Quantized };
  Kind kind = Kind::Dense;
  DenseWeightView dense;
  QuantizedWeightView quantized;
  bool perturbed = false;
  ZoPerturbation perturbation;

  size_t numel() const { return kind == Kind::Dense ? dense.numel : quantized.numel(); }
  // fp32 values that can be used in place: no conversion, no dequantization, no perturbation.
  bool is_plain_f32() const { return kind == Kind::Dense && dense.dtype == DType::F32 && !perturbed; }

  static WeightOperand of_dense(DType dtype, const void* values, size_t numel) {
    WeightOperand w;
    w.dense = {dtype, values, numel};
    return w;
  }
  static WeightOperand of_quantized(const QuantizedWeightView& view) {
    WeightOperand w;
    w.kind = Kind::Quantized;
    w.quantized = view;
    return w;
  }
  WeightOperand with_perturbation(const ZoPerturbation& p) const {
    if (p.multiplicative && kind == Kind::Dense)
      fail("a multiplicative perturbation scales quantization scales; dense weights take an additive one");
    WeightOperand w = *this;
    w.perturbed = true;
    w.perturbation = p;
    return w;
  }
};

}  // namespace qzo
