// `qzo memory --model CONFIG.json --method M --batch B --seq T [...]`: the predicted peak bytes
// of one training step by component (framework/memory/memory_model.h) for FT-AdamW, FT-SGD,
// MeZO, QLoRA and QZO side by side, for any HF Llama config.json.
// `qzo memory --report RECORDS...`: docs/results/memory/report.md from measured records.
#include <cstdio>
#include <filesystem>

#include "framework/cli/commands.h"
#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/memory/memory_report.h"

namespace qzo::cli {

namespace {

struct MemoryOptions {
  std::string model, method = "all", quant = "rtn4-g128", dtype = "f32", lora_targets = "q_proj,v_proj", out;
  std::vector<std::string> report;
  int batch = 16, seq = 128, labelled_rows = 0, lora_r = 8;
  float lora_dropout = 0.05f;  // configs/qlora-paper.yaml
  bool checkpointing = false;
};

// A folder's config.json, or the file itself.
std::string config_path(const std::string& model) {
  if (model.empty()) fail("--model: expected an HF config.json (or its folder), or --report RECORDS");
  const std::string path = std::filesystem::is_directory(model) ? model + "/config.json" : model;
  if (!file_exists(path)) fail("--model: " + path + " does not exist");
  return path;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

MemoryRun memory_run_of(const MemoryOptions& o) {
  MemoryRun run;
  run.batch = o.batch;
  run.seq = o.seq;
  run.labelled_rows = o.labelled_rows;
  run.quant = quant_spec_from_label(o.quant);
  try {
    run.storage = storage_dtype_from_config(o.dtype);
  } catch (const std::exception& e) {
    fail(std::string("--dtype: ") + e.what());
  }
  run.lora.rank = o.lora_r;
  run.lora.targets = split_commas(o.lora_targets);
  run.lora.dropout = o.lora_dropout;
  run.activation_checkpointing = o.checkpointing;
  return run;
}

void emit(const std::string& md, const std::string& out) {
  if (out.empty())
    std::fputs(md.c_str(), stdout);
  else
    write_text_file_atomically(out, md);
}

void predict(const MemoryOptions& o) {
  const std::string path = config_path(o.model);
  const ModelConfig config = ModelConfig::from_file(path);
  const std::vector<MemoryMethod> methods =
      o.method == "all" ? all_memory_methods() : std::vector<MemoryMethod>{memory_method_from_name(o.method)};
  const MemoryRun run = memory_run_of(o);
  validate_memory_run(config, run);
  emit(prediction_table(config, run, methods, path), o.out);
}

}  // namespace

void add_memory_command(CLI::App& app) {
  auto o = std::make_shared<MemoryOptions>();
  auto* cmd = app.add_subcommand("memory", "predicted memory by component per method, or the report of measured records");
  cmd->add_option("--model", o->model, "HF config.json of a Llama-family model (or its folder)");
  cmd->add_option("--method", o->method, "all (default), ft-adamw, ft-sgd, mezo, qlora or qzo");
  cmd->add_option("--batch", o->batch, "rows per training step (default 16)");
  cmd->add_option("--seq", o->seq, "tokens per row (default 128)");
  cmd->add_option("--labelled-rows", o->labelled_rows,
                  "rows the LM head runs on (default: --batch, one label per example as in classification)");
  cmd->add_option("--quant", o->quant, "QZO's quantizer: rtn4-g128 (default), rtn4s-g32, rtn8-channel, nf4-g64, or "
                                       "a spec such as rtn:bits=4,group_size=128");
  cmd->add_option("--dtype", o->dtype, "MeZO's weights and QZO's unquantized tensors: f32 (default), bf16 or fp16");
  cmd->add_option("--lora-r", o->lora_r, "QLoRA's rank (default 8)");
  cmd->add_option("--lora-targets", o->lora_targets, "QLoRA's modules, comma-separated, or all-linear (default q_proj,v_proj)");
  cmd->add_option("--lora-dropout", o->lora_dropout, "QLoRA's dropout (default 0.05, configs/qlora-paper.yaml)");
  cmd->add_flag("--checkpointing", o->checkpointing, "activation checkpointing for FT and QLoRA");
  cmd->add_option("--report", o->report, "records (JSON files or folders) to turn into the memory report");
  cmd->add_option("--out", o->out, "write the markdown here instead of printing it");
  cmd->callback([o] {
    if (!o->report.empty()) {
      if (!o->model.empty()) fail("--report and --model: give one (--report reads the records' own shapes)");
      emit(memory_report(read_memory_records(o->report)), o->out);
      return;
    }
    predict(*o);
  });
}

}  // namespace qzo::cli
