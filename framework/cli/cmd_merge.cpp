// `qzo merge --adapter DIR --out DIR [--base MODEL] [--quant SPEC] [--dtype f32|bf16|fp16]`:
// folds a LoRA adapter (PEFT layout, e.g. runs/<name>/adapter from a qlora run) into its base
// and writes a plain HF model folder that any Llama loader runs without PEFT. The base and
// its quantizer default to what the run recorded in the adapter's qzo_base.json.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "framework/cli/commands.h"
#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/methods/lora_peft.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/run_model.h"

namespace qzo::cli {

namespace fs = std::filesystem;

namespace {

struct MergeOptions {
  std::string adapter, out, base, quant, dtype = "f32";
};

// The base the adapter trained against, quantized as it was at training.
std::optional<QuantizedModel> quantized_base(const std::string& path, const std::string& quant) {
  if (folder_is_quantized_model(path)) return QuantizedModel::load(path);
  if (quant.empty() || quant == "none") return std::nullopt;
  return QuantizedModel::quantize(Model::load(path), QuantSpec::parse(quant));
}

void merge(const MergeOptions& o) {
  if (!fs::is_directory(o.adapter)) fail("--adapter: " + o.adapter + " is not a folder (expected a PEFT adapter folder)");
  const AdapterBase recorded = read_adapter_base(o.adapter);
  const std::string base = o.base.empty() ? recorded.model_path : o.base;
  if (base.empty()) fail("--base: " + o.adapter + " has no qzo_base.json naming its base model; pass --base");
  if (!file_exists(base + "/config.json")) fail("--base: " + base + "/config.json not found");
  if (fs::exists(o.out + "/config.json")) fail("--out: " + o.out + " already holds a model; choose another folder");
  const LoraSpec spec = read_peft_spec(o.adapter);
  std::optional<QuantizedModel> quantized = quantized_base(base, o.quant.empty() ? recorded.quantization : o.quant);
  std::optional<Model> plain;
  if (!quantized) plain.emplace(Model::load(base));
  const Model& model = quantized ? quantized->model() : *plain;
  std::unique_ptr<WeightSource> source =
      quantized ? std::unique_ptr<WeightSource>(std::make_unique<QuantizedWeights>(*quantized))
                : model.stored_weights_source();
  OptimizerOptions no_state;
  no_state.kind = BackpropOptimizer::sgd;  // merging keeps no optimizer state
  LoraParameters lora(model, std::move(source), spec, 0, no_state);
  load_peft_adapter(lora, o.adapter);
  const Model merged = merge_lora(lora);
  merged.save(o.out, storage_dtype_from_config(o.dtype));
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(base + "/" + file)) fs::copy_file(base + "/" + file, o.out + "/" + file, fs::copy_options::overwrite_existing);
  std::printf("merged %zu adapters (r %d, alpha %g) into %s%s -> %s (%s)\n", lora.adapters().size(), spec.rank,
              double(spec.alpha), base.c_str(), quantized ? " (dequantized)" : "", o.out.c_str(), o.dtype.c_str());
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto o = std::make_shared<MergeOptions>();
  auto* cmd = app.add_subcommand("merge", "fold a LoRA adapter into its base and write a plain HF model");
  cmd->add_option("--adapter", o->adapter, "PEFT adapter folder (adapter_config.json, adapter_model.safetensors)")
      ->required();
  cmd->add_option("--out", o->out, "output HF model folder (must not hold a model)")->required();
  cmd->add_option("--base", o->base, "base model folder (default: the one in the adapter's qzo_base.json)");
  cmd->add_option("--quant", o->quant,
                  "quantizer the base was trained under, e.g. nf4 (default: the adapter's qzo_base.json; "
                  "a quantized folder carries its own)");
  cmd->add_option("--dtype", o->dtype, "storage of the merged weights: f32, bf16 or fp16");
  cmd->callback([o] { merge(*o); });
}

}  // namespace qzo::cli
