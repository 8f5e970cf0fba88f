// Hyper-parameters of a Llama-family decoder, read from and written to Hugging Face's
// config.json (model_type llama, mistral or qwen2).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace qzo {

struct RopeScaling {
  std::string type = "none";  // "none" | "llama3" | "linear"
  float factor = 1.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type = "llama";
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_hidden_layers = 0;
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;  // defaults to hidden_size / num_attention_heads
  int max_position_embeddings = 2048;
  float rms_norm_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // q/k/v biases (Qwen2 sets them)
  bool tie_word_embeddings = false;
  int bos_token_id = -1;
  int eos_token_id = -1;
  std::string torch_dtype = "float32";

  // Throws "<path>: key '<k>' ..." for missing or mistyped keys and inconsistent sizes.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  static ModelConfig from_file(const std::string& config_json_path);
  nlohmann::json to_json() const;
  void validate(const std::string& origin) const;

  int q_dim() const { return num_attention_heads * head_dim; }
  int kv_dim() const { return num_key_value_heads * head_dim; }
};

}  // namespace qzo
