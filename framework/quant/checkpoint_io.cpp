// Shared reads and the folder writer of the quantized checkpoint formats (checkpoint_io.h).
#include "framework/quant/checkpoint_io.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "framework/core/paths.h"

namespace qzo {

namespace fs = std::filesystem;

std::string module_path(const std::string& weight_name) {
  const std::string suffix = ".weight";
  if (weight_name.size() > suffix.size() &&
      weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return weight_name.substr(0, weight_name.size() - suffix.size());
  return weight_name;
}

nlohmann::json read_json(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    fail(path + ": invalid JSON: " + what);
  }
}

std::string torch_dtype_name(DType t) {
  return t == DType::BF16 ? "bfloat16" : t == DType::F16 ? "float16" : "float32";
}

void rethrow_in_config(const Error& e, const std::string& origin) {
  std::string what = e.what();
  if (what.rfind("quant.", 0) == 0) what = "quantization_config." + what.substr(6);
  fail(origin + ": " + what);
}

bool json_bool(const nlohmann::json& q, const char* key, bool fallback, const std::string& origin) {
  if (!q.contains(key) || q[key].is_null()) return fallback;
  if (!q[key].is_boolean())
    fail(origin + ": quantization_config." + key + " must be true or false, got " + q[key].dump());
  return q[key].get<bool>();
}

namespace {

const TensorView& typed(const SafetensorsReader& reader, const std::string& name, const std::vector<int64_t>& shape,
                        DType dtype, const char* what) {
  const TensorView& t = reader.get(name, shape);
  if (t.dtype != dtype)
    fail(reader.file_of(name) + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) + ", expected " +
         dtype_name(dtype) + " (" + what + ")");
  return t;
}

}  // namespace

std::vector<uint8_t> read_u8(const SafetensorsReader& reader, const std::string& name,
                             const std::vector<int64_t>& shape, const char* what) {
  const TensorView& t = typed(reader, name, shape, DType::U8, what);
  const auto* bytes = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(bytes, bytes + t.nbytes);
}

std::vector<int32_t> read_i32(const SafetensorsReader& reader, const std::string& name,
                              const std::vector<int64_t>& shape, const char* what) {
  const TensorView& t = typed(reader, name, shape, DType::I32, what);
  std::vector<int32_t> v(t.nbytes / sizeof(int32_t));
  std::memcpy(v.data(), t.data, v.size() * sizeof(int32_t));
  return v;
}

std::vector<float> read_finite_f32(const SafetensorsReader& reader, const std::string& name,
                                   const std::vector<int64_t>& shape, const char* what) {
  std::vector<float> v = reader.read_f32(name, shape);
  for (size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]))
      fail(reader.file_of(name) + ": tensor '" + name + "' holds a non-finite " + what + " at index " +
           std::to_string(k));
  return v;
}

std::vector<uint8_t> f32_bytes(const float* values, size_t n) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(values);
  return std::vector<uint8_t>(bytes, bytes + n * sizeof(float));
}

namespace {

void write_json_atomically(const std::string& path, const nlohmann::json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) fail(path + ": cannot write");
    out << j.dump(2) << "\n";
    if (!out) fail(path + ": write failed");
  }
  fs::rename(tmp, path);
}

}  // namespace

void write_quantized_folder(const std::string& dir, const std::vector<HostTensor>& tensors,
                            const std::map<std::string, std::string>& metadata, const ModelConfig& config,
                            DType storage, const nlohmann::json& quantization_config,
                            const std::string& tokenizer_dir) {
  fs::create_directories(dir);
  // A folder whose config.json is present is complete: drop an old one before writing.
  fs::remove(dir + "/config.json");
  std::vector<TensorView> views;
  for (const HostTensor& t : tensors) {
    TensorView v;
    v.name = t.name;
    v.dtype = t.dtype;
    v.shape = t.shape;
    v.data = t.bytes.data();
    v.nbytes = t.bytes.size();
    views.push_back(std::move(v));
  }
  write_safetensors(dir + "/model.safetensors", views, metadata);
  // A stale index would describe another checkpoint's tensors.
  fs::remove(dir + "/model.safetensors.index.json");
  if (!tokenizer_dir.empty() && fs::absolute(tokenizer_dir) != fs::absolute(dir))
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (fs::exists(tokenizer_dir + "/" + file))
        fs::copy_file(tokenizer_dir + "/" + file, dir + "/" + file, fs::copy_options::overwrite_existing);
  ModelConfig c = config;
  c.torch_dtype = torch_dtype_name(storage);
  nlohmann::json j = c.to_json();
  j["quantization_config"] = quantization_config;
  write_json_atomically(dir + "/config.json", j);
}

}  // namespace qzo
