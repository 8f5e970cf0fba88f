// Memory of one training step at Llama-2 7B / 13B shapes on the CPU: builds the model layer by
// layer with random weights (int4 RTN g128 codes for QZO, bf16 weights for MeZO, a double-
// quantized NF4 base with fp32 embeddings and head for QLoRA; never an fp32 copy of the model),
// runs ONE step (QZO/MeZO: two perturbed forwards + the update, through zo_step; QLoRA: one
// backprop through the frozen base into the r 8 adapters and one AdamW step, through
// backprop_step) and writes a JSON record (docs/results/memory/records/): the machine, the
// shape, the allocator's peaks by component, the step's own peak RSS (reset at its start), the
// step time, and what `qzo memory` predicts for every method at that shape.
//   bench_memory_at_scale --model 7b|13b|tiny --method qzo|mezo|qlora [--batch 1] [--seq 64]
//                         [--threads 2] [--out FILE.json]
// Goals (issue 13): QZO peak RSS <= 4.5 GB at 7B and <= 8 GB at 13B (GB = 1e9 bytes).
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "framework/core/machine.h"

#include "bench/common/llama_shapes.h"
#include "bench/common/random_dense_model.h"
#include "bench/common/random_nf4_model.h"
#include "bench/common/random_quantized_model.h"
#include "framework/core/paths.h"
#include "framework/core/process_memory.h"
#include "framework/core/threads.h"
#include "framework/memory/memory_report.h"
#include "framework/methods/lora.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/backprop_step.h"
#include "framework/train/zo_reduce.h"

using namespace qzo;

namespace {

struct Args {
  std::string shape = "7b", method = "qzo", out;
  int batch = 1, seq = 64, threads = 2;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "bench_memory_at_scale: %s\n", message.c_str());
  std::exit(2);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    auto number = [&]() {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || n <= 0) usage_error(flag + " expects a positive integer, got '" + v + "'");
      return int(n);
    };
    if (flag == "--model") a.shape = value();
    else if (flag == "--method") a.method = value();
    else if (flag == "--batch") a.batch = number();
    else if (flag == "--seq") a.seq = number();
    else if (flag == "--threads") a.threads = number();
    else if (flag == "--out") a.out = value();
    else usage_error("unknown flag '" + flag + "' (see the top of bench/bench_memory_at_scale.cpp)");
  }
  if (a.method != "qzo" && a.method != "mezo" && a.method != "qlora")
    usage_error("--method is qzo, mezo or qlora, not '" + a.method + "'");
  return a;
}

ModelConfig shape_config(const std::string& shape) {
  const std::optional<ModelConfig> c = bench::llama2_shape(shape);
  if (!c) usage_error("--model is 7b, 13b or tiny, not '" + shape + "'");
  return *c;
}

// Random tokens; one labelled position per row, the last (a classification example's verbalizer).
Batch classification_batch(const ModelConfig& c, int B, int T, uint64_t seed) {
  Batch batch;
  batch.B = B;
  batch.T = T;
  for (int i = 0; i < B * T; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    batch.tokens.push_back(int32_t((seed >> 33) % uint64_t(c.vocab_size)));
    batch.targets.push_back(i % T == T - 1 ? int32_t((seed >> 13) % uint64_t(c.vocab_size)) : -1);
  }
  return batch;
}

// The classification examples of that batch as the backprop methods' task objective takes
// them: each row is a prompt whose last position scores two single-token candidates (a
// verbalizer pair, the gold one first).
std::vector<EncodedExample> classification_examples(const Batch& batch, const ModelConfig& c) {
  std::vector<EncodedExample> examples(size_t(batch.B));
  for (int b = 0; b < batch.B; ++b) {
    EncodedExample& e = examples[size_t(b)];
    e.prompt.assign(batch.tokens.begin() + size_t(b) * batch.T, batch.tokens.begin() + size_t(b + 1) * batch.T);
    const int32_t gold = batch.targets[size_t(b + 1) * batch.T - 1];
    e.candidates = {{gold}, {int32_t((gold + 1) % c.vocab_size)}};
    e.label = 0;
  }
  return examples;
}

// The step the record describes, as `qzo memory` takes it (one run for every method: QLoRA's
// settings are run.lora, configs/qlora-paper.yaml's r 8, alpha 16, q_proj + v_proj, dropout 0.05).
MemoryRun memory_run(const Args& a) {
  MemoryRun run;
  run.batch = a.batch;
  run.seq = a.seq;
  run.labelled_rows = a.batch;
  run.quant = QuantSpec::parse("rtn:bits=4,group_size=128");
  run.storage = DType::BF16;
  return run;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

// The 1-minute load average: a step timed while other jobs share the cores says so.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double one_minute = 0;
  in >> one_minute;
  return one_minute;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// QLoRA's base as configs/qlora-paper.yaml loads it: NF4 blocks of 64, double-quantized absmax.
const char* const kQloraBase = "nf4:group_size=64,double_quant=true";

// The built model and the trainable set a step moves (zo for QZO and MeZO, lora for QLoRA).
struct Built {
  std::unique_ptr<bench::RandomModel> quantized;
  std::unique_ptr<Model> dense;
  std::unique_ptr<ZoParameters> zo;
  std::unique_ptr<LoraParameters> lora;
  double seconds = 0;
};

LoraSpec lora_spec(const LoraShape& shape) {
  LoraSpec s;
  s.rank = shape.rank;
  s.alpha = 16.0f;
  s.dropout = shape.dropout;
  s.targets = shape.targets;
  return s;
}

Built build(const Args& a, const ModelConfig& config, const MemoryRun& run, Backend& be) {
  const auto t0 = std::chrono::steady_clock::now();
  Built b;
  if (a.method == "qzo") {
    b.quantized = std::make_unique<bench::RandomModel>(bench::random_quantized_model(config, run.quant, run.storage, be, 7));
    b.zo = std::make_unique<QzoParameters>(b.quantized->model, 1e-7f);
  } else if (a.method == "mezo") {
    b.dense = std::make_unique<Model>(bench::random_dense_model(config, run.storage, be, 7));
    b.zo = std::make_unique<MezoParameters>(*b.dense);
  } else {
    b.quantized = std::make_unique<bench::RandomModel>(
        bench::random_nf4_model(config, QuantSpec::parse(kQloraBase), DType::F32, be, 7));
    const QuantizedModel& qm = b.quantized->model;
    b.lora = std::make_unique<LoraParameters>(qm.model(), std::make_unique<QuantizedWeights>(qm), lora_spec(run.lora),
                                              /*init_seed=*/3, OptimizerOptions{});
  }
  b.seconds = seconds_since(t0);
  return b;
}

// What one step reports besides its memory: the losses and the gradient (ZO: the projected
// gradient; backprop: the global gradient norm before clipping).
struct StepOutcome {
  nlohmann::json fields;
  std::string line;
  bool ok = false;
};

std::string printed(const char* f, double a, double b, double c) {
  char text[160];
  std::snprintf(text, sizeof text, f, a, b, c);
  return text;
}

StepOutcome zo_one_step(ZoParameters& params, const Batch& batch) {
  const Model& model = params.model();
  const Objective objective = [&](const WeightSource& w) {
    const LossSums s = model.forward_loss(batch, &w);
    return LocalLoss{s.total_loss, double(s.total_count), double(batch.B) * batch.T};
  };
  ZoOptions zo;
  zo.eps = 1e-3f;
  auto comm = make_local_communicator();
  const ZoStepResult r = zo_step(params, objective, /*run_seed=*/1, /*step=*/0, /*lr=*/1e-6, zo, *comm);
  StepOutcome o;
  o.fields = {{"loss_plus", r.loss_plus[0]}, {"loss_minus", r.loss_minus[0]}, {"projected_grad", r.raw_grad[0]}};
  o.line = printed("loss+ %.4f loss- %.4f d %+.3e", r.loss_plus[0], r.loss_minus[0], r.raw_grad[0]);
  o.ok = std::isfinite(r.loss_plus[0]) && !r.skipped;
  if (!o.ok) o.line += " (NON-FINITE: skipped)";
  return o;
}

// The trainer's QLoRA step (configs/qlora-paper.yaml): zero the gradients, backprop the task
// objective (the candidates' cross-entropy at the labelled row) through the frozen NF4 base with
// dropout on the adapters' input, clip the global norm at 1.0, one AdamW step at lr 1e-4.
StepOutcome qlora_one_step(LoraParameters& params, const Batch& batch, const ModelConfig& config) {
  const std::vector<EncodedExample> shard = classification_examples(batch, config);
  BackpropStepOptions options;
  options.max_grad_norm = 1.0;
  auto comm = make_local_communicator();
  const ZoStepResult r = backprop_step(params, shard, /*generation=*/false, /*run_seed=*/1, /*step=*/0, /*lr=*/1e-4,
                                       options, *comm);
  StepOutcome o;
  const double steps = double(params.optimizer_steps());
  o.fields = {{"loss", r.loss_plus[0]},
              {"gradient_norm", r.raw_grad[0]},
              {"optimizer_steps", params.optimizer_steps()}};
  o.line = printed("loss %.4f |g| %.3e (%g AdamW step)", r.loss_plus[0], r.raw_grad[0], steps);
  o.ok = std::isfinite(r.loss_plus[0]) && !r.skipped && steps == 1;
  if (!o.ok) o.line += " (NON-FINITE or skipped)";
  return o;
}

nlohmann::json peaks_json(const MemoryStats& m) {
  nlohmann::json j;
  for (int c = 0; c < kMemoryComponents; ++c) j[memory_component_name(MemoryComponent(c))] = m.peak[c];
  return j;
}

// The step's allocator peaks beside the prediction, component by component.
void print_table(const std::string& shape, const std::string& method, const MemoryStats& mem,
                 const nlohmann::json& predicted) {
  std::printf("| shape | method | component | allocator peak | predicted | difference |\n|---|---|---|---|---|---|\n");
  auto row = [&](const std::string& what, double got, double want) {
    char diff[32] = "0";
    if (want != 0) std::snprintf(diff, sizeof diff, "%+.2f%%", 100.0 * (got - want) / want);
    std::printf("| %s | %s | %s | %s | %s | %s |\n", shape.c_str(), method.c_str(), what.c_str(),
                memory_bytes_text(got).c_str(), memory_bytes_text(want).c_str(), diff);
  };
  for (int c = 0; c < kMemoryComponents; ++c) {
    const std::string name = memory_component_name(MemoryComponent(c));
    row(name, double(mem.peak[c]), predicted[name].get<double>());
  }
  row("total", double(mem.peak_total), predicted["total"].get<double>());
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse_args(argc, argv);
  set_compute_threads(a.threads);
  const ModelConfig config = shape_config(a.shape);
  const MemoryRun run = memory_run(a);
  validate_memory_run(config, run);
  std::unique_ptr<Backend> backend = make_backend("cpu");
  Backend& be = *backend;

  Built built = build(a, config, run, be);
  // The build's host staging is freed; hand it back to the kernel so that the step's RSS starts
  // from what the model holds, not from the allocator's cache of the build.
  malloc_trim(0);
  const Batch batch = classification_batch(config, a.batch, a.seq, 11);

  // The step's own accounting: the allocator's peaks and the process's resident peak from here.
  be.memory().reset_peaks();
  const bool rss_reset = reset_run_peak_rss();
  const size_t rss_start = current_rss_bytes();
  const double load_at_start = load_average();
  const auto t0 = std::chrono::steady_clock::now();
  const StepOutcome r = built.zo ? zo_one_step(*built.zo, batch) : qlora_one_step(*built.lora, batch, config);
  const double step_s = seconds_since(t0);
  const size_t rss_peak = run_peak_rss_bytes();
  const MemoryStats mem = be.memory();

  nlohmann::json record = {
      {"record", "qzo-memory/1"},
      {"date", utc_now()},
      {"machine", machine_json()},
      {"shape", {{"name", bench::llama2_shape_label(a.shape)}, {"config", config.to_json()}}},
      {"run", memory_run_json(run)},
      {"measured",
       {{"peak_bytes", peaks_json(mem)},
        {"peak_total_bytes", mem.peak_total},
        {"peak_rss_bytes", rss_peak},
        {"rss_reset", rss_reset},
        {"rss_at_start_bytes", rss_start},
        {"step_seconds", step_s},
        {"load_average", load_at_start},
        {"build_seconds", built.seconds},
        {"threads", a.threads}}},
      {"predicted", prediction_json(config, run)}};
  record["run"]["method"] = a.method;
  record["measured"].update(r.fields);
  const std::string text = record.dump(2) + "\n";
  if (!a.out.empty()) write_text_file_atomically(a.out, text);

  print_table(record["shape"]["name"].get<std::string>(), a.method, mem, record["predicted"][a.method]);
  std::printf("peak RSS %s (at start %s) | step %.1f s (load %.1f) | build %.1f s\n",
              memory_bytes_text(double(rss_peak)).c_str(), memory_bytes_text(double(rss_start)).c_str(), step_s,
              load_at_start, built.seconds);
  std::printf("%s; rss reset: %s%s\n", r.line.c_str(), rss_reset ? "yes" : "NO (process high-water mark)",
              a.out.empty() ? "" : ("; record: " + a.out).c_str());
  return r.ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_memory_at_scale: %s\n", e.what());
  return 1;
}
