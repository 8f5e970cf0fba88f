#include "framework/train/run_model.h"

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/quant/quantized_checkpoint.h"

namespace qzo {

bool folder_is_quantized_model(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!file_exists(path)) fail(path + ": not found (model.path must be an HF model folder)");
  try {
    return nlohmann::json::parse(read_text_file(path)).contains("quantization_config");
  } catch (const nlohmann::json::parse_error& e) {
    fail(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
}

namespace {

QuantSpec quant_spec_of(const Config& cfg) {
  QuantSpec spec = QuantSpec::defaults(quant_method_from_name(cfg.get<std::string>("quant.method")));
  spec.bits = cfg.get<int>("quant.bits");
  spec.group_size = cfg.get<int>("quant.group_size");
  spec.symmetric = cfg.get<bool>("quant.symmetric");
  spec.double_quant = cfg.get<bool>("quant.double_quant");
  spec.validate();
  return spec;
}

}  // namespace

size_t LoadedModel::weight_bytes() const {
  if (quantized) return quantized->weight_bytes();
  size_t n = 0;
  for (const Parameter& p : plain->parameters()) n += p.nbytes();
  return n;
}

LoadedModel load_model(const Config& cfg, int local_rank) {
  const std::string path = cfg.get<std::string>("model.path");
  const DType dtype = storage_dtype_from_config(cfg.get<std::string>("model.dtype"));
  LoadedModel m;
  try {
    m.backend = make_backend(cfg.get<std::string>("backend"), local_rank);
  } catch (const std::exception& e) {
    fail(cfg.where("backend") + ": " + e.what());
  }
  Backend& be = *m.backend;
  if (folder_is_quantized_model(path)) {
    m.quantized.emplace(QuantizedModel::load(path, dtype, be));
  } else if (cfg.get<std::string>("quant.method") != "none") {
    m.quantized.emplace(QuantizedModel::quantize(Model::load(path, dtype, be), quant_spec_of(cfg)));
  } else {
    m.plain.emplace(Model::load(path, dtype, be));
  }
  return m;
}

namespace {

std::string label_of(const QuantSpec& s) {
  const std::string group = s.group_size > 0 ? "g" + std::to_string(s.group_size) : "channel";
  if (s.method == QuantMethod::Nf4) return (s.double_quant ? "nf4dq-" : "nf4-") + group;
  return "rtn" + std::to_string(s.bits) + (s.symmetric ? "s-" : "-") + group;
}

}  // namespace

std::string quant_label(const LoadedModel& m, const Config& cfg) {
  if (!m.quantized) return cfg.get<std::string>("model.dtype");
  return label_of(m.quantized->spec());
}

std::string quant_label(const Config& cfg) {
  const std::string path = cfg.get<std::string>("model.path");
  if (folder_is_quantized_model(path))
    return label_of(quant_spec_from_quantization_config(nlohmann::json::parse(read_text_file(path + "/config.json")),
                                                        path + "/config.json"));
  if (cfg.get<std::string>("quant.method") == "none") return cfg.get<std::string>("model.dtype");
  return label_of(quant_spec_of(cfg));
}

}  // namespace qzo
