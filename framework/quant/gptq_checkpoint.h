// GPTQ checkpoints in the Hugging Face layout (AutoGPTQ, GPTQModel, transformers/optimum):
// config.json's quantization_config {quant_method "gptq", bits, group_size (-1 = per
// channel), desc_act, sym, checkpoint_format "gptq" | "gptq_v2"} and, for each linear X:
//   X.qweight  I32 [in·bits/32, out]  codes packed along the input dimension
//   X.qzeros   I32 [groups, out·bits/32]  zero points packed along the output dimension
//   X.scales   F16 [groups, out]
//   X.g_idx    I32 [in]  the group of each input column (act-order when not c / group_size)
// Packing: each packed column (qweight) or row (qzeros) is one little-endian bit stream,
// value k in bits [k·bits, (k+1)·bits), stream bit b in bit b mod 32 of word b / 32 (at 3 bits
// AutoGPTQ's 32 values per 3 words). "gptq" (v1) stores zero − 1; "gptq_v2" the zero itself.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/quant/quant_spec.h"
#include "kernels/backend.h"
#include "kernels/dtype.h"

namespace qzo {

class QuantizedModel;

constexpr const char* kHfGptqMethod = "gptq";

enum class GptqFormat { V1, V2 };  // checkpoint_format "gptq" | "gptq_v2"
GptqFormat gptq_format_from_name(const std::string& name, const std::string& origin);
std::string gptq_format_name(GptqFormat format);

// Whether config.json's quantization_config says quant_method "gptq".
bool is_hf_gptq_config(const nlohmann::json& config);
// The QuantSpec (method gptq) of an HF quantization_config object; throws naming the key.
QuantSpec gptq_spec_from_quantization_config(const nlohmann::json& q, const std::string& origin);

// `values` (n of them, each < 2^bits) as one bit stream of n·bits/32 words; n·bits must be a
// multiple of 32.
void pack_gptq_stream(const uint32_t* values, size_t n, int bits, uint32_t* words);
void unpack_gptq_stream(const uint32_t* words, size_t n, int bits, uint32_t* values);

// Reads an HF GPTQ folder; unquantized tensors are converted to `storage`. Errors name the
// file, the tensor and what was expected.
QuantizedModel load_hf_gptq(const std::string& dir, DType storage, Backend& backend);
// Writes `model` (scalar codes: rtn or gptq) in the HF GPTQ layout with fp16 scales (the
// trained fp32 scales rounded to nearest) and unquantized tensors in their storage dtype.
// Throws naming the tensor when a shape does not pack into 32-bit words or, in v1, a zero
// point of 0 (v1 cannot store it).
void save_hf_gptq(const QuantizedModel& model, const std::string& dir, GptqFormat format,
                  const std::string& tokenizer_dir = "");

}  // namespace qzo
