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
#include "framework/quant/checkpoint_io.h"
#include "framework/quant/gptq_checkpoint.h"
#include "framework/quant/quantized_model.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

// quantization_config.quant_method of each quantizer's folder in qzo's own layout.
const char* native_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::Nf4: return "qzo-nf4";
    case QuantMethod::Gptq: return "qzo-gptq";
    case QuantMethod::Codebook: return "qzo-codebook";
    default: return "qzo-rtn";
  }
}

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
  nlohmann::json q = {{"quant_method", native_method_name(spec.method)},
                      {"bits", spec.bits},
                      {"group_size", spec.group_size == 0 ? -1 : spec.group_size},
                      {"symmetric", spec.scalar_codes() ? spec.symmetric : true},
                      {"scales_dtype", "float32"}};
  // Only when set: every other checkpoint's config stays as it was.
  if (spec.double_quant) q["double_quant"] = true;
  if (spec.method == QuantMethod::Gptq) {
    q["desc_act"] = spec.desc_act;
    q["damp"] = spec.damp;
  }
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
  if (name == kHfGptqMethod) return gptq_spec_from_quantization_config(q, origin);
  bool known = false;
  for (QuantMethod m : {QuantMethod::Rtn, QuantMethod::Nf4, QuantMethod::Gptq, QuantMethod::Codebook})
    if (name == native_method_name(m)) spec.method = m, known = true;
  if (!known)
    fail(origin + ": quantization_config.quant_method '" + name +
         "' is not supported (expected qzo-rtn, qzo-nf4, qzo-gptq, qzo-codebook or gptq)");
  if (spec.method == QuantMethod::Codebook) spec.group_size = 0;
  const nlohmann::json& bits = key("bits");
  if (!bits.is_number_integer()) fail(origin + ": quantization_config.bits must be an integer, got " + bits.dump());
  spec.bits = bits.get<int>();
  const nlohmann::json& group = key("group_size");
  if (!group.is_number_integer() || (group.get<int64_t>() <= 0 && group.get<int64_t>() != -1))
    fail(origin + ": quantization_config.group_size must be a positive integer or -1 (per channel), got " +
         group.dump());
  spec.group_size = group.get<int>() == -1 ? 0 : group.get<int>();
  if (spec.scalar_codes()) {
    const nlohmann::json& sym = key("symmetric");
    if (!sym.is_boolean()) fail(origin + ": quantization_config.symmetric must be true or false, got " + sym.dump());
    spec.symmetric = sym.get<bool>();
  } else {
    spec.symmetric = true;
    if (q.contains("symmetric") && q["symmetric"] != true)
      fail(origin + ": quantization_config.symmetric must be true for " + name + " (no zero points)");
  }
  if (spec.method == QuantMethod::Gptq) {
    spec.desc_act = json_bool(q, "desc_act", false, origin);
    if (q.contains("damp")) {
      if (!q["damp"].is_number()) fail(origin + ": quantization_config.damp must be a number, got " + q["damp"].dump());
      spec.damp = q["damp"].get<double>();
    }
  }
  if (q.contains("scales_dtype") && q["scales_dtype"] != "float32")
    fail(origin + ": quantization_config.scales_dtype must be \"float32\", got " + q["scales_dtype"].dump());
  spec.double_quant = json_bool(q, "double_quant", false, origin);
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

std::vector<HostTensor> unquantized_tensors(const QuantizedModel& qm, DType* storage) {
  std::vector<HostTensor> t;
  const Model& model = qm.model();
  for (size_t id = 0; id < model.parameters().size(); ++id) {
    const Parameter& p = model.parameters()[id];
    if (qm.layer_of(int(id)) >= 0) continue;
    *storage = p.dtype;
    t.push_back({p.name, p.dtype, p.shape, download_bytes(model.backend(), p.values)});
  }
  return t;
}

void QuantizedModel::save(const std::string& dir, const std::string& tokenizer_dir) const {
  DType storage = DType::F32;
  std::vector<HostTensor> tensors = unquantized_tensors(*this, &storage);
  for (size_t l = 0; l < layers_.size(); ++l) {
    const std::string& weight = model_.parameters()[size_t(param_of_layer_[l])].name;
    const QuantizedLinear& L = layers_[l];
    if (L.double_quantized()) {
      for (HostTensor& t : double_quantized_tensors(weight, L)) tensors.push_back(std::move(t));
      continue;
    }
    const std::string module = module_path(weight);
    const int64_t out = L.out_features(), groups = L.groups_per_row();
    QuantizedParts parts = L.parts();
    tensors.push_back({module + ".qweight", DType::U8, {out, int64_t(L.row_bytes())}, std::move(parts.packed_codes)});
    if (!parts.zero_points.empty())
      tensors.push_back({module + ".qzeros", DType::U8, {out, groups}, std::move(parts.zero_points)});
    tensors.push_back({module + ".scales", DType::F32, {out, groups}, as_bytes(parts.scales)});
    if (!parts.g_idx.empty()) tensors.push_back({module + ".g_idx", DType::I32, {L.in_features()}, as_bytes(parts.g_idx)});
    if (!parts.codebooks.empty())
      tensors.push_back({module + ".codebook", DType::F32, {out, int64_t(1) << spec_.bits}, as_bytes(parts.codebooks)});
  }
  write_quantized_folder(dir, tensors, {{"format", "pt"}, {"quantization", "qzo"}}, model_.config(), storage,
                         quantization_config_json(spec_), tokenizer_dir);
}

QuantizedModel QuantizedModel::load(const std::string& dir, DType storage, Backend& backend) {
  const std::string config_path = dir + "/config.json";
  const nlohmann::json j = read_json(config_path);
  if (is_hf_gptq_config(j)) return load_hf_gptq(dir, storage, backend);  // parses its own config
  const QuantSpec spec = quant_spec_from_quantization_config(j, config_path);
  const ModelConfig config = ModelConfig::from_json(j, config_path);

  // The unquantized tensors load as in any model; the linear weights are read here.
  Model model = Model::load(dir, storage, backend, /*skip_matrix_weights=*/true);
  std::vector<Parameter>& params = model.parameters();

  const SafetensorsReader reader = SafetensorsReader::open(dir);
  const std::string method = native_method_name(spec.method);
  std::vector<QuantizedLinear> layers;
  for (Parameter& p : params) {
    if (!p.is_matrix_weight) continue;
    const std::string module = module_path(p.name);
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
    QuantizedParts parts;
    parts.packed_codes = std::move(codes);
    const std::string qzeros = module + ".qzeros", scales_name = module + ".scales";
    if (spec.scalar_codes()) {
      parts.zero_points = read_u8(reader, qzeros, {out, groups}, "zero points");
      for (size_t k = 0; k < parts.zero_points.size(); ++k)
        if (parts.zero_points[k] >= (1u << spec.bits))
          fail(reader.file_of(qzeros) + ": tensor '" + qzeros + "' holds zero point " +
               std::to_string(parts.zero_points[k]) + " at index " + std::to_string(k) + ", which does not fit in " +
               std::to_string(spec.bits) + " bits");
    } else if (reader.has(qzeros)) {
      fail(reader.file_of(qzeros) + ": unexpected tensor '" + qzeros + "': " + method + " has no zero points");
    }
    parts.scales = read_finite_f32(reader, scales_name, {out, groups}, "scale");
    if (reader.has(module + ".g_idx")) parts.g_idx = read_i32(reader, module + ".g_idx", {in}, "act-order groups");
    if (spec.method == QuantMethod::Codebook)
      parts.codebooks = read_finite_f32(reader, module + ".codebook", {out, int64_t(1) << spec.bits}, "codebook level");
    layers.push_back(QuantizedLinear::from_parts(out, in, spec, parts, p.name, backend));
  }
  return QuantizedModel(std::move(model), spec, std::move(layers));
}

}  // namespace qzo
