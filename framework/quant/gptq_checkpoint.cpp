// Import and export of HF GPTQ checkpoints (gptq_checkpoint.h). qzo keeps codes row by row
// (one output channel per row) with fp32 scales [out, groups]; the HF layout is transposed
// and packed in 32-bit words, so both directions repack.
#include "framework/quant/gptq_checkpoint.h"

#include <cmath>

#include "framework/core/error.h"
#include "framework/io/safetensors.h"
#include "framework/quant/checkpoint_io.h"
#include "framework/quant/quantized_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "kernels/packing.h"

namespace qzo {

namespace {

const char* kFormatKey = "checkpoint_format";

int positive_int(const nlohmann::json& q, const char* key, const std::string& origin) {
  if (!q.contains(key) || !q[key].is_number_integer())
    fail(origin + ": quantization_config." + key + " must be an integer, got " +
         (q.contains(key) ? q[key].dump() : std::string("nothing")));
  return q[key].get<int>();
}

// Words of a stream of n values at `bits`; throws naming `tensor` unless they fill whole words.
size_t stream_words(size_t n, int bits, const std::string& tensor, const char* dim) {
  if (n * size_t(bits) % 32 != 0)
    fail(tensor + ": " + std::string(dim) + " " + std::to_string(n) + " × " + std::to_string(bits) +
         " bits does not fill 32-bit words (the GPTQ layout packs whole words)");
  return n * size_t(bits) / 32;
}

struct LayerShape {
  int out, in, groups, bits;
  std::string module;
};

// qweight [in·bits/32, out] → qzo's packed rows of codes.
std::vector<uint8_t> codes_from_qweight(const std::vector<int32_t>& qweight, const LayerShape& s) {
  const size_t words = stream_words(size_t(s.in), s.bits, s.module + ".qweight", "in_features");
  const size_t row_bytes = packed_bytes(size_t(s.in), s.bits);
  std::vector<uint8_t> packed(size_t(s.out) * row_bytes);
  std::vector<uint32_t> column(words), values(size_t(s.in));
  std::vector<uint8_t> codes(size_t(s.in));
  for (int o = 0; o < s.out; ++o) {
    for (size_t w = 0; w < words; ++w) column[w] = uint32_t(qweight[w * size_t(s.out) + size_t(o)]);
    unpack_gptq_stream(column.data(), size_t(s.in), s.bits, values.data());
    for (int k = 0; k < s.in; ++k) codes[size_t(k)] = uint8_t(values[size_t(k)]);
    pack_codes(codes.data(), size_t(s.in), s.bits, packed.data() + size_t(o) * row_bytes);
  }
  return packed;
}

std::vector<int32_t> qweight_from_codes(const std::vector<uint8_t>& packed, const LayerShape& s) {
  const size_t words = stream_words(size_t(s.in), s.bits, s.module + ".qweight", "in_features");
  const size_t row_bytes = packed_bytes(size_t(s.in), s.bits);
  std::vector<int32_t> qweight(words * size_t(s.out));
  std::vector<uint32_t> column(words), values(size_t(s.in));
  std::vector<uint8_t> codes(size_t(s.in));
  for (int o = 0; o < s.out; ++o) {
    unpack_codes(packed.data() + size_t(o) * row_bytes, size_t(s.in), s.bits, codes.data());
    for (int k = 0; k < s.in; ++k) values[size_t(k)] = codes[size_t(k)];
    pack_gptq_stream(values.data(), size_t(s.in), s.bits, column.data());
    for (size_t w = 0; w < words; ++w) qweight[w * size_t(s.out) + size_t(o)] = int32_t(column[w]);
  }
  return qweight;
}

// qzeros [groups, out·bits/32] → zero points [out, groups] (v1: stored + 1).
std::vector<uint8_t> zeros_from_qzeros(const std::vector<int32_t>& qzeros, const LayerShape& s, GptqFormat format,
                                       const std::string& file) {
  const std::string tensor = s.module + ".qzeros";
  const size_t words = stream_words(size_t(s.out), s.bits, tensor, "out_features");
  std::vector<uint8_t> zeros(size_t(s.out) * size_t(s.groups));
  std::vector<uint32_t> values(size_t(s.out));
  for (int g = 0; g < s.groups; ++g) {
    unpack_gptq_stream(reinterpret_cast<const uint32_t*>(qzeros.data()) + size_t(g) * words, size_t(s.out), s.bits,
                       values.data());
    for (int o = 0; o < s.out; ++o) {
      const uint32_t zero = values[size_t(o)] + (format == GptqFormat::V1 ? 1u : 0u);
      if (zero >= (1u << s.bits))
        fail(file + ": tensor '" + tensor + "' stores " + std::to_string(values[size_t(o)]) + " at group " +
             std::to_string(g) + ", output " + std::to_string(o) + ": a v1 zero point of " + std::to_string(zero) +
             " is outside [0, " + std::to_string((1 << s.bits) - 1) +
             "] (v1 cannot store a zero of 0; such a checkpoint needs checkpoint_format gptq_v2)");
      zeros[size_t(o) * size_t(s.groups) + size_t(g)] = uint8_t(zero);
    }
  }
  return zeros;
}

std::vector<int32_t> qzeros_from_zeros(const std::vector<uint8_t>& zeros, const LayerShape& s, GptqFormat format) {
  const std::string tensor = s.module + ".qzeros";
  const size_t words = stream_words(size_t(s.out), s.bits, tensor, "out_features");
  std::vector<int32_t> qzeros(size_t(s.groups) * words);
  std::vector<uint32_t> values(size_t(s.out));
  for (int g = 0; g < s.groups; ++g) {
    for (int o = 0; o < s.out; ++o) {
      const uint32_t zero = zeros[size_t(o) * size_t(s.groups) + size_t(g)];
      if (format == GptqFormat::V1 && zero == 0)
        fail(tensor + ": group " + std::to_string(g) + " of output " + std::to_string(o) +
             " has zero point 0, which checkpoint_format gptq (v1, stored as zero − 1) cannot store; export with "
             "--checkpoint-format gptq_v2");
      values[size_t(o)] = zero - (format == GptqFormat::V1 ? 1u : 0u);
    }
    pack_gptq_stream(values.data(), size_t(s.out), s.bits,
                     reinterpret_cast<uint32_t*>(qzeros.data()) + size_t(g) * words);
  }
  return qzeros;
}

// An act-order map that is just c / group_size is no act-order: the layer keeps none.
std::vector<int32_t> meaningful_g_idx(std::vector<int32_t> g_idx, int group_size) {
  for (size_t c = 0; c < g_idx.size(); ++c)
    if (g_idx[c] != int32_t(c / size_t(group_size))) return g_idx;
  return {};
}

QuantizedLinear read_layer(const SafetensorsReader& reader, const Parameter& p, const QuantSpec& spec,
                           GptqFormat format, Backend& backend) {
  LayerShape s{int(p.shape[0]), int(p.shape[1]), 0, spec.bits, module_path(p.name)};
  const int g = spec.resolved_group_size(s.in, p.name);
  s.groups = s.in / g;
  const int64_t qweight_rows = int64_t(stream_words(size_t(s.in), s.bits, s.module + ".qweight", "in_features"));
  const int64_t qzeros_cols = int64_t(stream_words(size_t(s.out), s.bits, s.module + ".qzeros", "out_features"));
  QuantizedParts parts;
  parts.packed_codes = codes_from_qweight(read_i32(reader, s.module + ".qweight", {qweight_rows, s.out}, "codes"), s);
  parts.zero_points = zeros_from_qzeros(read_i32(reader, s.module + ".qzeros", {s.groups, qzeros_cols}, "zeros"), s,
                                        format, reader.file_of(s.module + ".qzeros"));
  const std::vector<float> scales = read_finite_f32(reader, s.module + ".scales", {s.groups, s.out}, "scale");
  parts.scales.resize(scales.size());
  for (int gi = 0; gi < s.groups; ++gi)
    for (int o = 0; o < s.out; ++o)
      parts.scales[size_t(o) * size_t(s.groups) + size_t(gi)] = scales[size_t(gi) * size_t(s.out) + size_t(o)];
  if (reader.has(s.module + ".g_idx"))
    parts.g_idx = meaningful_g_idx(read_i32(reader, s.module + ".g_idx", {s.in}, "act-order groups"), g);
  return QuantizedLinear::from_parts(s.out, s.in, spec, parts, p.name, backend);
}

// Scales as fp16, naming the tensor when one does not survive the rounding (overflow, or a
// nonzero scale that underflows to 0).
std::vector<uint16_t> fp16_scales(const QuantizedParts& parts, const LayerShape& s) {
  std::vector<uint16_t> scales(parts.scales.size());
  for (int g = 0; g < s.groups; ++g)
    for (int o = 0; o < s.out; ++o) {
      const float v = parts.scales[size_t(o) * size_t(s.groups) + size_t(g)];
      const uint16_t h = f32_to_f16(v);
      const float back = f16_to_f32(h);
      if (!std::isfinite(back) || (back == 0.0f && v != 0.0f))
        fail(s.module + ".scales: scale " + std::to_string(v) + " of group " + std::to_string(g) + ", output " +
             std::to_string(o) + " does not fit in fp16 (the GPTQ layout stores fp16 scales)");
      scales[size_t(g) * size_t(s.out) + size_t(o)] = h;
    }
  return scales;
}

std::vector<HostTensor> layer_tensors(const QuantizedLinear& L, const std::string& module, GptqFormat format) {
  const LayerShape s{L.out_features(), L.in_features(), L.groups_per_row(), L.spec().bits, module};
  const QuantizedParts parts = L.parts();
  const std::vector<uint16_t> scales = fp16_scales(parts, s);
  std::vector<int32_t> g_idx = parts.g_idx;
  if (g_idx.empty())
    for (int c = 0; c < s.in; ++c) g_idx.push_back(c / L.group_size());
  const std::vector<int32_t> qweight = qweight_from_codes(parts.packed_codes, s);
  const std::vector<int32_t> qzeros = qzeros_from_zeros(parts.zero_points, s, format);
  const int64_t words_in = int64_t(qweight.size()) / s.out, words_out = int64_t(qzeros.size()) / s.groups;
  return {{module + ".qweight", DType::I32, {words_in, s.out}, as_bytes(qweight)},
          {module + ".qzeros", DType::I32, {s.groups, words_out}, as_bytes(qzeros)},
          {module + ".scales", DType::F16, {s.groups, s.out}, as_bytes(scales)},
          {module + ".g_idx", DType::I32, {s.in}, as_bytes(g_idx)}};
}

}  // namespace

GptqFormat gptq_format_from_name(const std::string& name, const std::string& origin) {
  if (name == "gptq") return GptqFormat::V1;
  if (name == "gptq_v2") return GptqFormat::V2;
  fail(origin + ": checkpoint_format must be \"gptq\" or \"gptq_v2\", got \"" + name + "\"");
}

std::string gptq_format_name(GptqFormat format) { return format == GptqFormat::V1 ? "gptq" : "gptq_v2"; }

bool is_hf_gptq_config(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("quantization_config")) return false;
  const nlohmann::json& q = config["quantization_config"];
  return q.is_object() && q.contains("quant_method") && q["quant_method"] == kHfGptqMethod;
}

QuantSpec gptq_spec_from_quantization_config(const nlohmann::json& q, const std::string& origin) {
  QuantSpec spec = QuantSpec::defaults(QuantMethod::Gptq);
  spec.bits = positive_int(q, "bits", origin);
  const int group = positive_int(q, "group_size", origin);
  if (group <= 0 && group != -1)
    fail(origin + ": quantization_config.group_size must be a positive integer or -1 (per channel), got " +
         std::to_string(group));
  spec.group_size = group == -1 ? 0 : group;
  spec.desc_act = json_bool(q, "desc_act", false, origin);
  spec.symmetric = json_bool(q, "sym", true, origin);
  // The dampening a checkpoint was made with says nothing about how to read it: kept only
  // when it is one qzo could have used.
  if (q.contains("damp_percent") && q["damp_percent"].is_number()) {
    const double damp = q["damp_percent"].get<double>();
    if (damp > 0 && damp < 1) spec.damp = damp;
  }
  if (q.contains(kFormatKey)) {
    if (!q[kFormatKey].is_string())
      fail(origin + ": quantization_config.checkpoint_format must be a string, got " + q[kFormatKey].dump());
    gptq_format_from_name(q[kFormatKey].get<std::string>(), origin + " quantization_config");
  }
  try {
    spec.validate();
  } catch (const Error& e) {
    rethrow_in_config(e, origin);
  }
  return spec;
}

void pack_gptq_stream(const uint32_t* values, size_t n, int bits, uint32_t* words) {
  const size_t n_words = n * size_t(bits) / 32;
  for (size_t w = 0; w < n_words; ++w) words[w] = 0;
  for (size_t k = 0; k < n; ++k) {
    const uint64_t bit = uint64_t(k) * uint64_t(bits);
    const uint64_t v = uint64_t(values[k]) << (bit % 32);
    words[bit / 32] |= uint32_t(v);
    if (bit % 32 + uint64_t(bits) > 32) words[bit / 32 + 1] |= uint32_t(v >> 32);
  }
}

void unpack_gptq_stream(const uint32_t* words, size_t n, int bits, uint32_t* values) {
  const uint64_t mask = (uint64_t(1) << bits) - 1;
  for (size_t k = 0; k < n; ++k) {
    const uint64_t bit = uint64_t(k) * uint64_t(bits);
    uint64_t window = words[bit / 32];
    if (bit % 32 + uint64_t(bits) > 32) window |= uint64_t(words[bit / 32 + 1]) << 32;
    values[k] = uint32_t((window >> (bit % 32)) & mask);
  }
}

QuantizedModel load_hf_gptq(const std::string& dir, DType storage, Backend& backend) {
  const std::string config_path = dir + "/config.json";
  const nlohmann::json j = read_json(config_path);
  if (!is_hf_gptq_config(j)) fail(config_path + ": quantization_config.quant_method is not \"gptq\"");
  const nlohmann::json& q = j["quantization_config"];
  const QuantSpec spec = gptq_spec_from_quantization_config(q, config_path);
  const GptqFormat format =
      q.contains(kFormatKey) ? gptq_format_from_name(q[kFormatKey].get<std::string>(), config_path) : GptqFormat::V1;
  Model model = Model::load(dir, storage, backend, /*skip_matrix_weights=*/true);
  const SafetensorsReader reader = SafetensorsReader::open(dir);
  std::vector<QuantizedLinear> layers;
  for (const Parameter& p : model.parameters()) {
    if (!p.is_matrix_weight) continue;
    if (reader.has(p.name))
      fail(reader.file_of(p.name) + ": tensor '" + p.name +
           "' is stored unquantized, but quantization_config (gptq) says every linear weight is quantized");
    try {
      layers.push_back(read_layer(reader, p, spec, format, backend));
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind("quant.", 0) == 0) rethrow_in_config(e, config_path);
      throw;
    }
  }
  return QuantizedModel::from_layers(std::move(model), spec, std::move(layers));
}

void save_hf_gptq(const QuantizedModel& model, const std::string& dir, GptqFormat format,
                  const std::string& tokenizer_dir) {
  const QuantSpec& spec = model.spec();
  if (!spec.scalar_codes() || spec.double_quant)
    fail("gptq export: the GPTQ layout holds scalar codes s·(q − z); this model is " + spec.to_string());
  DType storage = DType::F32;
  std::vector<HostTensor> tensors = unquantized_tensors(model, &storage);
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const std::string& weight = model.model().parameters()[size_t(model.param_of(int(l)))].name;
    for (HostTensor& t : layer_tensors(model.layers()[l], module_path(weight), format)) tensors.push_back(std::move(t));
  }
  const nlohmann::json q = {{"quant_method", kHfGptqMethod},
                            {"bits", spec.bits},
                            {"group_size", spec.group_size == 0 ? -1 : spec.group_size},
                            {"desc_act", spec.desc_act},
                            {"sym", spec.symmetric},
                            {kFormatKey, gptq_format_name(format)},
                            {"damp_percent", spec.damp},
                            {"true_sequential", false},
                            {"static_groups", false}};
  write_quantized_folder(dir, tensors, {{"format", "pt"}}, model.model().config(), storage, q, tokenizer_dir);
}

}  // namespace qzo
