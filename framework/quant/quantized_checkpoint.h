// The quantized checkpoint's config.json entry: "quantization_config" {quant_method
// "qzo-rtn" | "qzo-nf4", bits, group_size (-1 = per channel, as GPTQ writes it), symmetric}.
// QuantizedModel::save/load (quantized_checkpoint.cpp) write and check the tensors.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/quant/quant_spec.h"
#include "kernels/dtype.h"

namespace qzo {

nlohmann::json quantization_config_json(const QuantSpec& spec);
// `origin` (e.g. "<dir>/config.json") prefixes every error, which names the key at fault.
QuantSpec quant_spec_from_quantization_config(const nlohmann::json& config, const std::string& origin);
// Whether <dir>/config.json exists and carries a quantization_config.
bool is_quantized_checkpoint(const std::string& dir);

class QuantizedModel;
struct HostTensor;
// Host copies of `model`'s tensors that are not quantized layers, as stored; *storage is
// set to their dtype.
std::vector<HostTensor> unquantized_tensors(const QuantizedModel& model, DType* storage);

}  // namespace qzo
