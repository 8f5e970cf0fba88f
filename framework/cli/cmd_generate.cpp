// `qzo generate --model DIR --prompt "..." [--max-new-tokens N] [--temperature T ...]`:
// KV-cached generation, streamed to the terminal as tokens arrive; quantized folders
// (qzo's own or HF GPTQ) generate through their dequantized layers.
#include <cstdio>
#include <optional>

#include "framework/cli/commands.h"
#include "framework/core/dtype.h"
#include "framework/model/generate.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/run_model.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo::cli {

void add_generate_command(CLI::App& app) {
  struct Options {
    std::string model, prompt, dtype = "f32";
    SamplingOptions sampling;
    bool no_bos = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("generate", "generate text from a prompt with a model folder");
  cmd->add_option("--model", o->model, "HF model folder (config.json, model.safetensors, tokenizer.json)")->required();
  cmd->add_option("--prompt", o->prompt, "prompt text")->required();
  cmd->add_option("--max-new-tokens", o->sampling.max_new_tokens, "tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", o->sampling.temperature, "0 = greedy")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", o->sampling.top_k, "sample among the k most likely (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", o->sampling.top_p, "nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->sampling.seed, "sampling seed");
  cmd->add_option("--dtype", o->dtype, "weight storage: f32, bf16 or fp16");
  cmd->add_flag("--no-bos", o->no_bos, "do not prepend the tokenizer's BOS");
  cmd->callback([o] {
    // A quantized folder (qzo's or an HF GPTQ one) generates through its dequantized layers.
    const DType storage = storage_dtype_from_config(o->dtype);
    std::optional<QuantizedModel> quantized;
    std::optional<Model> plain;
    if (folder_is_quantized_model(o->model))
      quantized.emplace(QuantizedModel::load(o->model, storage));
    else
      plain.emplace(Model::load(o->model, storage));
    const Model& model = quantized ? quantized->model() : *plain;
    std::optional<QuantizedWeights> source;
    if (quantized) source.emplace(*quantized);
    const Tokenizer tok = Tokenizer::from_file(o->model + "/tokenizer.json");
    std::vector<int32_t> prompt = tok.encode(o->prompt, false);
    if (!o->no_bos && tok.bos_id() >= 0) prompt.insert(prompt.begin(), tok.bos_id());
    SamplingOptions s = o->sampling;
    s.stop_token = tok.eos_id();
    Generator gen(model, source ? &*source : nullptr);
    std::printf("%s", o->prompt.c_str());
    // Decode the growing suffix so multi-byte characters split across tokens print whole.
    std::vector<int32_t> produced;
    std::string shown;
    gen.generate(prompt, s, [&](int32_t id) {
      produced.push_back(id);
      const std::string text = tok.decode(produced, true);
      if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
        std::printf("%s", text.substr(shown.size()).c_str());
        std::fflush(stdout);
        shown = text;
      }
    });
    std::printf("\n");
  });
}

}  // namespace qzo::cli
