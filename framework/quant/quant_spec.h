// Which quantizer turns a linear layer's fp32 weight into codes + scales: method, bit width,
// group size, symmetry and (NF4) double quantization, parsed from strings like "rtn", "nf4",
// "rtn:bits=3,group_size=64,symmetric=true" or "nf4:double_quant=true", with one-line
// errors naming the field.
#pragma once
#include <string>

namespace qzo {

enum class QuantMethod { Rtn, Nf4 };

struct QuantSpec {
  QuantMethod method = QuantMethod::Rtn;
  int bits = 4;            // rtn: 2, 3, 4 or 8; nf4: 4
  int group_size = 128;    // weights of one row sharing a scale; 0 = per channel (in_features)
  bool symmetric = false;  // rtn only; nf4 is absmax-symmetric by construction
  // nf4 only: QLoRA's frozen base in bitsandbytes' layout (first code in the high nibble,
  // the absmax double-quantized to 8 bits); it has no fp32 scales, so QZO cannot train it.
  bool double_quant = false;

  // Defaults per method: rtn 4-bit g128 asymmetric; nf4 4-bit g64 (QLoRA's block size).
  static QuantSpec defaults(QuantMethod method);
  // "<method>[:key=value,...]" with keys bits, group_size (a number or "channel"),
  // symmetric (true/false), double_quant (true/false). Throws naming the spec string and
  // the field.
  static QuantSpec parse(const std::string& text);

  // Throws "quant.<field>: ..." when a field is out of range for the method.
  void validate() const;
  // Group size for a layer with `in_features` inputs; throws naming `tensor` unless the
  // group size divides in_features.
  int resolved_group_size(int in_features, const std::string& tensor) const;
  std::string to_string() const;  // round-trips through parse()
};

QuantMethod quant_method_from_name(const std::string& name);  // "rtn" | "nf4"
std::string quant_method_name(QuantMethod method);

}  // namespace qzo
