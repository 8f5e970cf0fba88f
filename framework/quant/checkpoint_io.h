// What the quantized checkpoint readers and writers share (qzo's own layout in
// quantized_checkpoint.cpp, the HF GPTQ layout in gptq_checkpoint.cpp): typed tensor reads
// with one-line errors naming the file and tensor, host tensors to write, and the folder
// writer that puts config.json last, so that a folder with a config is complete.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/io/safetensors.h"
#include "framework/model/config.h"

namespace qzo {

std::string module_path(const std::string& weight_name);  // "X.weight" -> "X"
nlohmann::json read_json(const std::string& path);      // throws naming the file
std::string torch_dtype_name(DType t);                   // "float32" | "bfloat16" | "float16"

// QuantSpec::validate says "quant.<field>: ..."; in a checkpoint the field lives under
// quantization_config.
[[noreturn]] void rethrow_in_config(const Error& e, const std::string& origin);
// quantization_config.<key> as a bool, `fallback` when absent; throws naming the key.
bool json_bool(const nlohmann::json& q, const char* key, bool fallback, const std::string& origin);

std::vector<uint8_t> read_u8(const SafetensorsReader& reader, const std::string& name,
                             const std::vector<int64_t>& shape, const char* what);
std::vector<int32_t> read_i32(const SafetensorsReader& reader, const std::string& name,
                              const std::vector<int64_t>& shape, const char* what);
// F32/F16/BF16 read as fp32; throws naming the index of a non-finite `what`.
std::vector<float> read_finite_f32(const SafetensorsReader& reader, const std::string& name,
                                   const std::vector<int64_t>& shape, const char* what);

template <typename T>
std::vector<uint8_t> as_bytes(const std::vector<T>& values) {
  const auto* b = reinterpret_cast<const uint8_t*>(values.data());
  return std::vector<uint8_t>(b, b + values.size() * sizeof(T));
}
std::vector<uint8_t> f32_bytes(const float* values, size_t n);

struct HostTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Writes <dir>/model.safetensors from `tensors` (drops a stale shard index), copies
// tokenizer.json / tokenizer_config.json from `tokenizer_dir` when given and present, then
// config.json = `config` with torch_dtype `storage` and `quantization_config`, atomically.
void write_quantized_folder(const std::string& dir, const std::vector<HostTensor>& tensors,
                            const std::map<std::string, std::string>& metadata, const ModelConfig& config,
                            DType storage, const nlohmann::json& quantization_config,
                            const std::string& tokenizer_dir);

}  // namespace qzo
