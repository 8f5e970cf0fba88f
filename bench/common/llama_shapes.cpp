#include "bench/common/llama_shapes.h"

namespace qzo::bench {

namespace {

ModelConfig llama2(int hidden, int layers, int heads, int intermediate) {
  ModelConfig c;
  c.vocab_size = 32000;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = heads;
  c.head_dim = hidden / heads;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-5f;
  c.torch_dtype = "bfloat16";
  return c;
}

}  // namespace

std::optional<ModelConfig> llama2_shape(const std::string& name) {
  if (name == "7b") return llama2(4096, 32, 32, 11008);
  if (name == "13b") return llama2(5120, 40, 40, 13824);
  if (name != "tiny") return std::nullopt;
  ModelConfig c = llama2(256, 2, 4, 768);
  c.vocab_size = 1000;
  c.max_position_embeddings = 256;
  return c;
}

std::string llama2_shape_label(const std::string& name) { return name == "tiny" ? "tiny" : "llama-2-" + name; }

}  // namespace qzo::bench
