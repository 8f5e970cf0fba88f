#include "framework/methods/lora_peft.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"

namespace qzo {

namespace {

// "model.layers.0.self_attn.q_proj.weight" → "base_model.model.model.layers.0.self_attn.q_proj"
// A float setting as the decimal it was written as (0.05, not 0.05000000074505806).
double as_written(float x) { return std::stod(std::to_string(x)); }

std::string peft_prefix(const std::string& weight_name) {
  return "base_model.model." + weight_name.substr(0, weight_name.size() - std::string(".weight").size());
}

}  // namespace

void save_peft_adapter(const LoraParameters& lora, const std::string& dir, const std::string& base_model) {
  std::filesystem::create_directories(dir);
  Backend& be = lora.model().backend();
  const int r = lora.spec().rank;
  std::vector<std::vector<uint8_t>> host;  // keeps the bytes alive for the views
  std::vector<TensorView> views;
  for (const LoraParameters::Adapter& a : lora.adapters()) {
    const std::string prefix = peft_prefix(lora.model().parameters()[a.param].name);
    for (const auto& [suffix, buffer, shape] :
         {std::make_tuple(".lora_A.weight", &a.A, std::vector<int64_t>{r, a.in}),
          std::make_tuple(".lora_B.weight", &a.B, std::vector<int64_t>{a.out, r})}) {
      host.push_back(download_bytes(be, *buffer));
      views.push_back({prefix + suffix, DType::F32, shape, nullptr, host.back().size()});
    }
  }
  for (size_t i = 0; i < views.size(); ++i) views[i].data = host[i].data();
  write_safetensors(dir + "/adapter_model.safetensors", views, {{"format", "pt"}});
  const LoraSpec& s = lora.spec();
  const nlohmann::json config = {{"peft_type", "LORA"},       {"task_type", "CAUSAL_LM"},
                                 {"r", s.rank},               {"lora_alpha", as_written(s.alpha)},
                                 {"lora_dropout", as_written(s.dropout)}, {"target_modules", s.targets},
                                 {"bias", "none"},            {"fan_in_fan_out", false},
                                 {"inference_mode", true},    {"base_model_name_or_path", base_model}};
  write_text_file_atomically(dir + "/adapter_config.json", config.dump(2) + "\n");
}

LoraSpec read_peft_spec(const std::string& dir) {
  const std::string path = dir + "/adapter_config.json";
  if (!file_exists(path)) fail(path + ": not found (expected a PEFT adapter folder)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    fail(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail(path + ": key '" + std::string(key) + "' is missing");
    return j[key];
  };
  if (need("peft_type") != "LORA") fail(path + ": peft_type is " + j["peft_type"].dump() + ", expected \"LORA\"");
  LoraSpec s;
  try {
    s.rank = need("r").get<int>();
    s.alpha = need("lora_alpha").get<float>();
    s.dropout = j.value("lora_dropout", 0.0f);
    const nlohmann::json& t = need("target_modules");
    s.targets = t.is_string() ? parse_lora_targets(t.get<std::string>(), path + ": target_modules")
                              : t.get<std::vector<std::string>>();
  } catch (const nlohmann::json::type_error& e) {
    fail(path + ": " + std::string(e.what()));
  }
  if (s.rank <= 0) fail(path + ": r must be positive, got " + std::to_string(s.rank));
  return s;
}

void load_peft_adapter(LoraParameters& lora, const std::string& dir) {
  const std::string path = dir + "/adapter_model.safetensors";
  if (!file_exists(path)) fail(path + ": not found (expected a PEFT adapter folder)");
  const SafetensorsReader reader = SafetensorsReader::open(path);
  Backend& be = lora.model().backend();
  const int r = lora.spec().rank;
  for (LoraParameters::Adapter& a : lora.adapters()) {
    const std::string prefix = peft_prefix(lora.model().parameters()[a.param].name);
    const std::vector<float> A = reader.read_f32(prefix + ".lora_A.weight", {r, a.in});
    const std::vector<float> B = reader.read_f32(prefix + ".lora_B.weight", {a.out, r});
    be.upload(a.A.data(), A.data(), a.A.bytes());
    be.upload(a.B.data(), B.data(), a.B.bytes());
  }
}

void save_adapter_base(const std::string& dir, const AdapterBase& base) {
  const nlohmann::json j = {{"model_path", base.model_path}, {"quantization", base.quantization}};
  write_text_file_atomically(dir + "/qzo_base.json", j.dump(2) + "\n");
}

AdapterBase read_adapter_base(const std::string& dir) {
  const std::string path = dir + "/qzo_base.json";
  AdapterBase base;
  base.quantization.clear();
  if (!file_exists(path)) return base;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_text_file(path));
    base.model_path = j.at("model_path").get<std::string>();
    base.quantization = j.at("quantization").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail(path + ": expected {\"model_path\": ..., \"quantization\": ...} (" + std::string(e.what()) + ")");
  }
  return base;
}

Model merge_lora(const LoraParameters& lora) {
  const Model& model = lora.model();
  Backend& be = model.backend();
  Model merged = Model::empty(model.config(), be);
  std::vector<const LoraParameters::Adapter*> adapter_of(model.parameters().size(), nullptr);
  for (const LoraParameters::Adapter& a : lora.adapters()) adapter_of[a.param] = &a;
  const int r = lora.spec().rank;
  const float s = lora.spec().scale();
  for (size_t id = 0; id < model.parameters().size(); ++id) {
    std::vector<float> w = read_weights_f32(model, lora.base(), int(id));
    if (const LoraParameters::Adapter* a = adapter_of[id]) {
      const std::vector<float> A = download_vector(be, a->A.as<float>(), size_t(r) * a->in);
      const std::vector<float> B = download_vector(be, a->B.as<float>(), size_t(a->out) * r);
      for (int o = 0; o < a->out; ++o)
        for (int k = 0; k < r; ++k) {
          const float b = s * B[size_t(o) * r + k];
          for (int i = 0; i < a->in; ++i) w[size_t(o) * a->in + i] += b * A[size_t(k) * a->in + i];
        }
    }
    Parameter& p = merged.parameters()[id];
    p.dtype = DType::F32;
    p.values = upload_buffer(be, w.data(), w.size() * sizeof(float), MemoryComponent::Weights);
  }
  return merged;
}

}  // namespace qzo
