// `qzo export --model DIR --out DIR [--checkpoint-format gptq|gptq_v2] [--dtype fp16|bf16|f32]`:
// writes a quantized model (a qzo folder from `qzo quantize` or `qzo replay`, or an HF GPTQ
// folder) in the Hugging Face GPTQ layout, its trained fp32 scales rounded to fp16, so that
// GPTQ loaders elsewhere run a QZO-fine-tuned model.
#include <cstdio>
#include <filesystem>

#include "framework/cli/commands.h"
#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/quant/gptq_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/run_model.h"

namespace qzo::cli {

namespace fs = std::filesystem;

namespace {

struct ExportOptions {
  std::string model, out, format = "gptq", dtype = "fp16";
};

void export_model(const ExportOptions& o) {
  if (!folder_is_quantized_model(o.model))
    fail("--model: " + o.model + "/config.json has no quantization_config (quantize it first: qzo quantize)");
  if (fs::exists(o.out + "/config.json")) fail("--out: " + o.out + " already holds a model; choose another folder");
  const GptqFormat format = gptq_format_from_name(o.format, "--checkpoint-format");
  const QuantizedModel qm = QuantizedModel::load(o.model, storage_dtype_from_config(o.dtype));
  save_hf_gptq(qm, o.out, format, o.model);
  std::printf("export: %s (%s, %zu layers, %zu scales as fp16) -> %s (checkpoint_format %s, %s)\n", o.model.c_str(),
              qm.spec().to_string().c_str(), qm.layers().size(), qm.num_scales(), o.out.c_str(),
              gptq_format_name(format).c_str(), o.dtype.c_str());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "write a quantized model in the Hugging Face GPTQ layout");
  cmd->add_option("--model", o->model, "quantized model folder (qzo quantize / qzo replay output, or HF GPTQ)")
      ->required();
  cmd->add_option("--out", o->out, "folder to write the GPTQ checkpoint to")->required();
  cmd->add_option("--checkpoint-format", o->format,
                  "gptq (v1: zeros stored minus one, what most loaders read) or gptq_v2");
  cmd->add_option("--dtype", o->dtype, "storage of the unquantized tensors: fp16 (default), bf16 or f32");
  cmd->callback([o] { export_model(*o); });
}

}  // namespace qzo::cli
