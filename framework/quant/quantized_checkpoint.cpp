// The quantized HF folder: config.json with quantization_config, model.safetensors with the
// unquantized tensors under their names and X.qweight (U8 [out, row_bytes]), X.scales
// (F32 [out, groups]) and, for RTN, X.qzeros (U8 [out, groups]) for each linear weight X.weight.
// A double-quantized NF4 layer is stored under bitsandbytes' names instead: X.weight (the
// packed codes), X.weight.absmax, X.weight.quant_map, X.weight.nested_absmax,
// X.weight.nested_quant_map and X.weight.nested_offset.
#include "framework/quant/quantized_checkpoint.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"
#include "kernels/double_quant.h"
#include "kernels/nf4.h"
#include "kernels/packing.h"
#include "framework/quant/quantized_model.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRtnMethod = "qzo-rtn";
constexpr const char* kNf4Method = "qzo-nf4";

// "X.weight" -> "X"
std::string module_of(const std::string& weight_name) {
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

// QuantSpec::validate says "quant.<field>: ..."; in a checkpoint the field lives under
// quantization_config.
[[noreturn]] void rethrow_in_config(const Error& e, const std::string& origin) {
  std::string what = e.what();
  if (what.rfind("quant.", 0) == 0) what = "quantization_config." + what.substr(6);
  fail(origin + ": " + what);
}

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

std::string torch_dtype_name(DType t) {
  return t == DType::BF16 ? "bfloat16" : t == DType::F16 ? "float16" : "float32";
}

std::vector<uint8_t> f32_bytes(const float* values, size_t n) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(values);
  return std::vector<uint8_t>(bytes, bytes + n * sizeof(float));
}

struct HostTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// A double-quantized layer under bitsandbytes' QuantState names (as_dict(packed=True) minus
// the packed quant_state blob: its shape and block sizes are in config.json, nested_offset is
// a tensor). The two maps are written so that a reader needs no code to decode the layer.
std::vector<HostTensor> double_quantized_tensors(const std::string& weight, const QuantizedLinear& L) {
  const DoubleQuantizedAbsmax absmax = L.double_quantized_absmax();
  const int64_t n_absmax = int64_t(absmax.codes.size()), n_blocks = int64_t(absmax.absmax2.size());
  std::vector<HostTensor> t;
  t.push_back({weight, DType::U8, {L.out_features(), int64_t(L.row_bytes())}, L.packed_codes()});
  t.push_back({weight + ".absmax", DType::U8, {n_absmax}, absmax.codes});
  t.push_back({weight + ".quant_map", DType::F32, {16}, f32_bytes(kNf4Codebook, 16)});
  t.push_back({weight + ".nested_absmax", DType::F32, {n_blocks}, f32_bytes(absmax.absmax2.data(), absmax.absmax2.size())});
  t.push_back({weight + ".nested_quant_map", DType::F32, {256}, f32_bytes(kSignedDynamicMap.value, 256)});
  t.push_back({weight + ".nested_offset", DType::F32, {1}, f32_bytes(&absmax.offset, 1)});
  return t;
}

std::vector<uint8_t> read_u8(const SafetensorsReader& reader, const std::string& name,
                             const std::vector<int64_t>& shape, const char* what) {
  const TensorView& t = reader.get(name, shape);
  if (t.dtype != DType::U8)
    fail(reader.file_of(name) + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype) + ", expected U8 (" + what +
         ")");
  const auto* bytes = static_cast<const uint8_t*>(t.data);
  return std::vector<uint8_t>(bytes, bytes + t.nbytes);
}

// A stored map must be qzo's to the bit: every backend decodes with its own copy.
void expect_map(const SafetensorsReader& reader, const std::string& name, const float* want, int n, const char* what) {
  const std::vector<float> got = reader.read_f32(name, {n});
  for (int k = 0; k < n; ++k)
    if (std::memcmp(&got[k], &want[k], sizeof(float)) != 0)
      fail(reader.file_of(name) + ": tensor '" + name + "' differs from the " + what + " at index " +
           std::to_string(k) + " (" + std::to_string(got[k]) + ", expected " + std::to_string(want[k]) + ")");
}

QuantizedLinear read_double_quantized(const SafetensorsReader& reader, const std::string& weight, int out, int in,
                                      int group_size, const QuantSpec& spec, Backend& backend) {
  const int64_t n_absmax = int64_t(out) * (in / group_size);
  const int64_t n_blocks = (n_absmax + kDoubleQuantBlock - 1) / kDoubleQuantBlock;
  const std::vector<uint8_t> codes =
      read_u8(reader, weight, {out, int64_t(packed_bytes(size_t(in), spec.bits))}, "packed codes");
  expect_map(reader, weight + ".quant_map", kNf4Codebook, 16, "NF4 codebook");
  expect_map(reader, weight + ".nested_quant_map", kSignedDynamicMap.value, 256, "signed dynamic map");
  DoubleQuantizedAbsmax absmax;
  absmax.codes = read_u8(reader, weight + ".absmax", {n_absmax}, "absmax codes");
  const std::string nested = weight + ".nested_absmax", offset = weight + ".nested_offset";
  absmax.absmax2 = reader.read_f32(nested, {n_blocks});
  for (size_t b = 0; b < absmax.absmax2.size(); ++b)
    if (!(std::isfinite(absmax.absmax2[b]) && absmax.absmax2[b] > 0))
      fail(reader.file_of(nested) + ": tensor '" + nested + "' holds " + std::to_string(absmax.absmax2[b]) +
           " at index " + std::to_string(b) + ", expected a positive finite absmax");
  absmax.offset = reader.read_f32(offset, {1})[0];
  if (!std::isfinite(absmax.offset)) fail(reader.file_of(offset) + ": tensor '" + offset + "' is not finite");
  return QuantizedLinear::from_double_quant_parts(out, in, spec, codes, absmax, weight, backend);
}

}  // namespace

nlohmann::json quantization_config_json(const QuantSpec& spec) {
  nlohmann::json q = {{"quant_method", spec.method == QuantMethod::Nf4 ? kNf4Method : kRtnMethod},
                      {"bits", spec.bits},
                      {"group_size", spec.group_size == 0 ? -1 : spec.group_size},
                      {"symmetric", spec.method == QuantMethod::Nf4 ? true : spec.symmetric},
                      {"scales_dtype", "float32"}};
  // Only when set: every other checkpoint's config stays as it was.
  if (spec.double_quant) q["double_quant"] = true;
  return q;
}

QuantSpec quant_spec_from_quantization_config(const nlohmann::json& config, const std::string& origin) {
  if (!config.is_object() || !config.contains("quantization_config"))
    fail(origin + ": no 'quantization_config' (not a quantized checkpoint)");
  const nlohmann::json& q = config["quantization_config"];
  if (!q.is_object()) fail(origin + ": 'quantization_config' must be an object");
  auto key = [&](const char* name) -> const nlohmann::json& {
    if (!q.contains(name) || q[name].is_null()) fail(origin + ": quantization_config." + std::string(name) + " is missing");
    return q[name];
  };
  const nlohmann::json& method = key("quant_method");
  if (!method.is_string())
    fail(origin + ": quantization_config.quant_method must be a string, got " + method.dump());
  QuantSpec spec;
  const std::string name = method.get<std::string>();
  if (name == kRtnMethod) spec.method = QuantMethod::Rtn;
  else if (name == kNf4Method) spec.method = QuantMethod::Nf4;
  else
    fail(origin + ": quantization_config.quant_method '" + name + "' is not supported (expected " + kRtnMethod +
         " or " + kNf4Method + ")");
  const nlohmann::json& bits = key("bits");
  if (!bits.is_number_integer()) fail(origin + ": quantization_config.bits must be an integer, got " + bits.dump());
  spec.bits = bits.get<int>();
  const nlohmann::json& group = key("group_size");
  if (!group.is_number_integer() || (group.get<int64_t>() <= 0 && group.get<int64_t>() != -1))
    fail(origin + ": quantization_config.group_size must be a positive integer or -1 (per channel), got " +
         group.dump());
  spec.group_size = group.get<int>() == -1 ? 0 : group.get<int>();
  if (spec.method == QuantMethod::Rtn) {
    const nlohmann::json& sym = key("symmetric");
    if (!sym.is_boolean()) fail(origin + ": quantization_config.symmetric must be true or false, got " + sym.dump());
    spec.symmetric = sym.get<bool>();
  } else {
    spec.symmetric = true;
    if (q.contains("symmetric") && q["symmetric"] != true)
      fail(origin + ": quantization_config.symmetric must be true for " + kNf4Method + " (absmax-scaled)");
  }
  if (q.contains("scales_dtype") && q["scales_dtype"] != "float32")
    fail(origin + ": quantization_config.scales_dtype must be \"float32\", got " + q["scales_dtype"].dump());
  if (q.contains("double_quant")) {
    if (!q["double_quant"].is_boolean())
      fail(origin + ": quantization_config.double_quant must be true or false, got " + q["double_quant"].dump());
    spec.double_quant = q["double_quant"].get<bool>();
  }
  try {
    spec.validate();
  } catch (const Error& e) {
    rethrow_in_config(e, origin);
  }
  return spec;
}

bool is_quantized_checkpoint(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!file_exists(path)) return false;
  const nlohmann::json j = read_json(path);
  return j.is_object() && j.contains("quantization_config");
}

void QuantizedModel::save(const std::string& dir, const std::string& tokenizer_dir) const {
  fs::create_directories(dir);
  // A folder whose config.json is present is complete: drop an old one before writing.
  fs::remove(dir + "/config.json");
  const std::vector<Parameter>& params = model_.parameters();
  std::vector<TensorView> views;
  auto add = [&](const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, size_t nbytes) {
    TensorView v;
    v.name = name;
    v.dtype = dtype;
    v.shape = std::move(shape);
    v.data = data;
    v.nbytes = nbytes;
    views.push_back(std::move(v));
  };
  DType storage = DType::F32;
  std::vector<std::vector<uint8_t>> host;  // host copies of every tensor written (moves keep their data)
  auto add_host = [&](const std::string& name, DType dtype, std::vector<int64_t> shape, std::vector<uint8_t> bytes) {
    host.push_back(std::move(bytes));
    add(name, dtype, std::move(shape), host.back().data(), host.back().size());
  };
  for (size_t id = 0; id < params.size(); ++id) {
    const Parameter& p = params[id];
    const int l = layer_of_param_[id];
    if (l < 0) {
      storage = p.dtype;
      add_host(p.name, p.dtype, p.shape, download_bytes(model_.backend(), p.values));
      continue;
    }
    const QuantizedLinear& L = layers_[l];
    if (L.double_quantized()) {
      for (HostTensor& t : double_quantized_tensors(p.name, L))
        add_host(t.name, t.dtype, std::move(t.shape), std::move(t.bytes));
      continue;
    }
    const std::string module = module_of(p.name);
    const int64_t out = L.out_features(), groups = L.groups_per_row();
    add_host(module + ".qweight", DType::U8, {out, static_cast<int64_t>(L.row_bytes())}, L.packed_codes());
    std::vector<uint8_t> zeros = L.zero_points();
    if (!zeros.empty()) add_host(module + ".qzeros", DType::U8, {out, groups}, std::move(zeros));
    const std::vector<float> scales = L.scales();
    const auto* scale_bytes = reinterpret_cast<const uint8_t*>(scales.data());
    add_host(module + ".scales", DType::F32, {out, groups},
             std::vector<uint8_t>(scale_bytes, scale_bytes + scales.size() * sizeof(float)));
  }
  write_safetensors(dir + "/model.safetensors", views, {{"format", "pt"}, {"quantization", "qzo"}});
  // A stale index would describe another checkpoint's tensors.
  fs::remove(dir + "/model.safetensors.index.json");
  if (!tokenizer_dir.empty() && fs::absolute(tokenizer_dir) != fs::absolute(dir))
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      if (fs::exists(tokenizer_dir + "/" + file))
        fs::copy_file(tokenizer_dir + "/" + file, dir + "/" + file, fs::copy_options::overwrite_existing);
  ModelConfig c = model_.config();
  c.torch_dtype = torch_dtype_name(storage);
  nlohmann::json j = c.to_json();
  j["quantization_config"] = quantization_config_json(spec_);
  write_json_atomically(dir + "/config.json", j);
}

QuantizedModel QuantizedModel::load(const std::string& dir, DType storage, Backend& backend) {
  const std::string config_path = dir + "/config.json";
  const nlohmann::json j = read_json(config_path);
  const QuantSpec spec = quant_spec_from_quantization_config(j, config_path);
  const ModelConfig config = ModelConfig::from_json(j, config_path);

  // The unquantized tensors load as in any model; the linear weights are read here.
  Model model = Model::load(dir, storage, backend, /*skip_matrix_weights=*/true);
  std::vector<Parameter>& params = model.parameters();

  const SafetensorsReader reader = SafetensorsReader::open(dir);
  const std::string method = spec.method == QuantMethod::Nf4 ? kNf4Method : kRtnMethod;
  std::vector<QuantizedLinear> layers;
  for (Parameter& p : params) {
    if (!p.is_matrix_weight) continue;
    const std::string module = module_of(p.name);
    // A double-quantized layer's packed codes are X.weight itself (bitsandbytes' name).
    if (!spec.double_quant && reader.has(p.name))
      fail(reader.file_of(p.name) + ": tensor '" + p.name + "' is stored unquantized, but quantization_config (" +
           method + ") says every linear weight is quantized");
    const int out = static_cast<int>(p.shape[0]), in = static_cast<int>(p.shape[1]);
    int g = 0;
    try {
      g = spec.resolved_group_size(in, p.name);
    } catch (const Error& e) {
      rethrow_in_config(e, config_path);
    }
    if (spec.double_quant) {
      layers.push_back(read_double_quantized(reader, p.name, out, in, g, spec, backend));
      continue;
    }
    const int64_t groups = in / g;
    std::vector<uint8_t> codes =
        read_u8(reader, module + ".qweight", {out, static_cast<int64_t>(packed_bytes(size_t(in), spec.bits))},
                "packed codes");
    std::vector<uint8_t> zeros;
    const std::string qzeros = module + ".qzeros", scales_name = module + ".scales";
    if (spec.method == QuantMethod::Rtn) {
      zeros = read_u8(reader, qzeros, {out, groups}, "zero points");
      for (size_t k = 0; k < zeros.size(); ++k)
        if (zeros[k] >= (1u << spec.bits))
          fail(reader.file_of(qzeros) + ": tensor '" + qzeros + "' holds zero point " + std::to_string(zeros[k]) +
               " at index " + std::to_string(k) + ", which does not fit in " + std::to_string(spec.bits) + " bits");
    } else if (reader.has(qzeros)) {
      fail(reader.file_of(qzeros) + ": unexpected tensor '" + qzeros + "': " + method + " has no zero points");
    }
    std::vector<float> scales = reader.read_f32(scales_name, {out, groups});
    for (size_t k = 0; k < scales.size(); ++k)
      if (!std::isfinite(scales[k]))
        fail(reader.file_of(scales_name) + ": tensor '" + scales_name + "' holds a non-finite scale at index " +
             std::to_string(k));
    layers.push_back(QuantizedLinear::from_parts(out, in, spec, codes, zeros, scales, p.name, backend));
  }
  return QuantizedModel(std::move(model), spec, std::move(layers));
}

}  // namespace qzo
