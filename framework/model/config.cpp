#include "framework/model/config.h"

#include <fstream>

#include "framework/core/error.h"
#include "framework/core/paths.h"

namespace qzo {

namespace {

template <typename T>
T required(const nlohmann::json& j, const std::string& key, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) fail(origin + ": missing key '" + key + "'");
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    fail(origin + ": key '" + key + "' has the wrong type (" + j[key].dump() + ")");
  }
}

template <typename T>
T optional(const nlohmann::json& j, const std::string& key, T fallback, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return required<T>(j, key, origin);
}

// eos_token_id may be a list (Llama-3 instruct); the first entry is the one generation stops on.
int token_id(const nlohmann::json& j, const std::string& key, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return -1;
  if (j[key].is_array()) return j[key].empty() ? -1 : j[key][0].get<int>();
  return required<int>(j, key, origin);
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object()) fail(origin + ": expected a JSON object");
  ModelConfig c;
  c.model_type = optional<std::string>(j, "model_type", "llama", origin);
  if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2")
    fail(origin + ": model_type '" + c.model_type + "' is not supported (expected llama, mistral or qwen2)");
  c.vocab_size = required<int>(j, "vocab_size", origin);
  c.hidden_size = required<int>(j, "hidden_size", origin);
  c.intermediate_size = required<int>(j, "intermediate_size", origin);
  c.num_hidden_layers = required<int>(j, "num_hidden_layers", origin);
  c.num_attention_heads = required<int>(j, "num_attention_heads", origin);
  c.num_key_value_heads = optional<int>(j, "num_key_value_heads", c.num_attention_heads, origin);
  c.head_dim = optional<int>(j, "head_dim", c.num_attention_heads ? c.hidden_size / c.num_attention_heads : 0, origin);
  c.max_position_embeddings = optional<int>(j, "max_position_embeddings", 2048, origin);
  c.rms_norm_eps = optional<float>(j, "rms_norm_eps", 1e-5f, origin);
  c.rope_theta = optional<float>(j, "rope_theta", 10000.0f, origin);
  c.attention_bias = optional<bool>(j, "attention_bias", c.model_type == "qwen2", origin);
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, origin);
  c.bos_token_id = token_id(j, "bos_token_id", origin);
  c.eos_token_id = token_id(j, "eos_token_id", origin);
  c.torch_dtype = optional<std::string>(j, "torch_dtype", "float32", origin);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const auto& rs = j["rope_scaling"];
    const std::string where = origin + ": rope_scaling";
    c.rope_scaling.type = rs.contains("rope_type") ? required<std::string>(rs, "rope_type", where)
                                                   : required<std::string>(rs, "type", where);
    if (c.rope_scaling.type == "default") c.rope_scaling.type = "none";
    if (c.rope_scaling.type != "none" && c.rope_scaling.type != "llama3" && c.rope_scaling.type != "linear")
      fail(where + ": type '" + c.rope_scaling.type + "' is not supported (expected llama3 or linear)");
    c.rope_scaling.factor = optional<float>(rs, "factor", 1.0f, where);
    c.rope_scaling.low_freq_factor = optional<float>(rs, "low_freq_factor", 1.0f, where);
    c.rope_scaling.high_freq_factor = optional<float>(rs, "high_freq_factor", 4.0f, where);
    c.rope_scaling.original_max_position_embeddings =
        optional<int>(rs, "original_max_position_embeddings", 8192, where);
  }
  c.validate(origin);
  return c;
}

ModelConfig ModelConfig::from_file(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    fail(path + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  return from_json(j, path);
}

void ModelConfig::validate(const std::string& origin) const {
  auto positive = [&](int v, const char* key) {
    if (v <= 0) fail(origin + ": key '" + key + "' must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(max_position_embeddings, "max_position_embeddings");
  if (num_attention_heads % num_key_value_heads != 0)
    fail(origin + ": num_attention_heads (" + std::to_string(num_attention_heads) +
         ") must be a multiple of num_key_value_heads (" + std::to_string(num_key_value_heads) + ")");
  if (head_dim % 2 != 0) fail(origin + ": head_dim must be even for rotary embeddings, got " + std::to_string(head_dim));
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {
      {"architectures", {model_type == "qwen2" ? "Qwen2ForCausalLM" : (model_type == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM")}},
      {"model_type", model_type},
      {"vocab_size", vocab_size},
      {"hidden_size", hidden_size},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", num_hidden_layers},
      {"num_attention_heads", num_attention_heads},
      {"num_key_value_heads", num_key_value_heads},
      {"head_dim", head_dim},
      {"max_position_embeddings", max_position_embeddings},
      {"rms_norm_eps", rms_norm_eps},
      {"rope_theta", rope_theta},
      {"attention_bias", attention_bias},
      {"mlp_bias", false},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", tie_word_embeddings},
      {"torch_dtype", torch_dtype},
      {"rope_scaling", nullptr},
  };
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_id >= 0) j["eos_token_id"] = eos_token_id;
  if (rope_scaling.type != "none")
    j["rope_scaling"] = {{"rope_type", rope_scaling.type},
                         {"factor", rope_scaling.factor},
                         {"low_freq_factor", rope_scaling.low_freq_factor},
                         {"high_freq_factor", rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", rope_scaling.original_max_position_embeddings}};
  return j;
}

}  // namespace qzo
