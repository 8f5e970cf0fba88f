// Which quantizer turns a linear layer's fp32 weight into codes + scales: method, bit width,
// group size, symmetry, (NF4) double quantization and (GPTQ) act-order and dampening, parsed
// from strings like "rtn", "nf4", "rtn:bits=3,group_size=64,symmetric=true",
// "gptq:bits=4,group_size=64,desc_act=true" or "codebook:bits=2", with one-line errors
// naming the field.
#pragma once
#include <string>

namespace qzo {

// RTN and NF4 quantize a weight alone; GPTQ (error-compensating, Frantar et al. 2023) and the
// codebook quantizer (per-channel k-means levels, SqueezeLLM-like) need calibration data.
enum class QuantMethod { Rtn, Nf4, Gptq, Codebook };

struct QuantSpec {
  QuantMethod method = QuantMethod::Rtn;
  int bits = 4;            // rtn, gptq: 2, 3, 4 or 8; nf4: 4; codebook: 2, 3 or 4
  int group_size = 128;    // weights of one row sharing a scale; 0 = per channel (codebook: always)
  bool symmetric = false;  // rtn, gptq; nf4 is absmax-symmetric by construction
  // gptq only: quantize columns in order of decreasing Hessian diagonal (act-order); the
  // layer then maps each input column to its group through g_idx.
  bool desc_act = false;
  double damp = 0.01;  // gptq only: λ added to the Hessian's diagonal, relative to its mean
  // nf4 only: QLoRA's frozen base in bitsandbytes' layout (first code in the high nibble,
  // the absmax double-quantized to 8 bits); it has no fp32 scales, so QZO cannot train it.
  bool double_quant = false;

  // Defaults per method: rtn 4-bit g128 asymmetric; nf4 4-bit g64 (QLoRA's block size).
  static QuantSpec defaults(QuantMethod method);
  // "<method>[:key=value,...]" with keys bits, group_size (a number or "channel"),
  // symmetric, double_quant, desc_act (true/false) and damp. Throws naming the spec string
  // and the field.
  static QuantSpec parse(const std::string& text);

  // Throws "quant.<field>: ..." when a field is out of range for the method.
  void validate() const;
  // Group size for a layer with `in_features` inputs; throws naming `tensor` unless the
  // group size divides in_features.
  int resolved_group_size(int in_features, const std::string& tensor) const;
  std::string to_string() const;  // round-trips through parse()
  // The short name runs and reports use: "rtn4-g32", "rtn4s-channel", "nf4-g64", "nf4dq-g64",
  // "gptq3-g64", "gptq4-g64-act", "codebook2-channel".
  std::string label() const;
  // Whether quantizing needs calibration activations (gptq, codebook).
  bool calibrated() const { return method == QuantMethod::Gptq || method == QuantMethod::Codebook; }
  // Scalar codes s·(q − z) with zero points (rtn, gptq).
  bool scalar_codes() const { return method == QuantMethod::Rtn || method == QuantMethod::Gptq; }
};

QuantMethod quant_method_from_name(const std::string& name);  // "rtn" | "nf4" | "gptq" | "codebook"
std::string quant_method_name(QuantMethod method);

}  // namespace qzo
