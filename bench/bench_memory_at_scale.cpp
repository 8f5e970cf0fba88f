// Memory of one zeroth-order step at Llama-2 7B / 13B shapes on the CPU: builds the model
// layer by layer with random weights (int4 RTN g128 codes for QZO, bf16 weights for MeZO; never
// an fp32 copy of the model), runs ONE step (two perturbed forwards + the update, through
// zo_step) and writes a JSON record (docs/results/memory/records/): the machine, the shape, the
// allocator's peaks by component, the step's own peak RSS (reset at its start), the step time,
// and what `qzo memory` predicts for every method at that shape.
//   bench_memory_at_scale --model 7b|13b|tiny --method qzo|mezo [--batch 1] [--seq 64]
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

#include "bench/common/random_dense_model.h"
#include "bench/common/random_quantized_model.h"
#include "framework/core/paths.h"
#include "framework/core/process_memory.h"
#include "framework/core/threads.h"
#include "framework/memory/memory_report.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
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
  if (a.method != "qzo" && a.method != "mezo") usage_error("--method is qzo or mezo, not '" + a.method + "'");
  return a;
}

// Llama-2's shapes (HF config.json of meta-llama/Llama-2-7b-hf and -13b-hf).
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

ModelConfig shape_config(const std::string& shape) {
  if (shape == "7b") return llama2(4096, 32, 32, 11008);
  if (shape == "13b") return llama2(5120, 40, 40, 13824);
  if (shape == "tiny") {
    ModelConfig c = llama2(256, 2, 4, 768);
    c.vocab_size = 1000;
    c.max_position_embeddings = 256;
    return c;
  }
  usage_error("--model is 7b, 13b or tiny, not '" + shape + "'");
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

// The step the record describes, as `qzo memory` takes it.
MemoryRun memory_run(const Args& a) {
  MemoryRun run;
  run.batch = a.batch;
  run.seq = a.seq;
  run.labelled_rows = a.batch;
  run.quant = QuantSpec::parse("rtn:bits=4,group_size=128");
  run.storage = DType::BF16;
  return run;
}

std::string proc_value(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      size_t start = line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  return "";
}

nlohmann::json machine_json() {
  const std::string mem_kb = proc_value("/proc/meminfo", "MemTotal");
  return {{"cpu", proc_value("/proc/cpuinfo", "model name")},
          {"cores", sysconf(_SC_NPROCESSORS_ONLN)},
          {"memory_bytes", std::stod(mem_kb.empty() ? "0" : mem_kb) * 1024.0},
          {"accelerator", "CPU backend"}};
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

// The built model and the trainable set a step moves.
struct Built {
  std::unique_ptr<bench::RandomModel> quantized;
  std::unique_ptr<Model> dense;
  std::unique_ptr<ZoParameters> params;
  double seconds = 0;
};

Built build(const Args& a, const ModelConfig& config, const MemoryRun& run, Backend& be) {
  const auto t0 = std::chrono::steady_clock::now();
  Built b;
  if (a.method == "qzo") {
    b.quantized = std::make_unique<bench::RandomModel>(bench::random_quantized_model(config, run.quant, run.storage, be, 7));
    b.params = std::make_unique<QzoParameters>(b.quantized->model, 1e-7f);
  } else {
    b.dense = std::make_unique<Model>(bench::random_dense_model(config, run.storage, be, 7));
    b.params = std::make_unique<MezoParameters>(*b.dense);
  }
  b.seconds = seconds_since(t0);
  return b;
}

nlohmann::json peaks_json(const MemoryStats& m) {
  nlohmann::json j;
  for (int c = 0; c < kMemoryComponents; ++c) j[memory_component_name(MemoryComponent(c))] = m.peak[c];
  return j;
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
  const Model& model = built.params->model();
  const Objective objective = [&](const WeightSource& w) {
    const LossSums s = model.forward_loss(batch, &w);
    return LocalLoss{s.total_loss, double(s.total_count), double(batch.B) * batch.T};
  };
  ZoOptions zo;
  zo.eps = 1e-3f;
  auto comm = make_local_communicator();

  // The step's own accounting: the allocator's peaks and the process's resident peak from here.
  be.memory().reset_peaks();
  const bool rss_reset = reset_run_peak_rss();
  const size_t rss_start = current_rss_bytes();
  const double load_at_start = load_average();
  const auto t0 = std::chrono::steady_clock::now();
  const ZoStepResult r = zo_step(*built.params, objective, /*run_seed=*/1, /*step=*/0, /*lr=*/1e-6, zo, *comm);
  const double step_s = seconds_since(t0);
  const size_t rss_peak = run_peak_rss_bytes();
  const MemoryStats mem = be.memory();

  nlohmann::json record = {
      {"record", "qzo-memory/1"},
      {"date", utc_now()},
      {"machine", machine_json()},
      {"shape", {{"name", a.shape == "tiny" ? "tiny" : "llama-2-" + a.shape}, {"config", config.to_json()}}},
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
        {"threads", a.threads},
        {"loss_plus", r.loss_plus[0]},
        {"loss_minus", r.loss_minus[0]},
        {"projected_grad", r.raw_grad[0]}}},
      {"predicted", prediction_json(config, run)}};
  record["run"]["method"] = a.method;
  const std::string text = record.dump(2) + "\n";
  if (!a.out.empty()) write_text_file_atomically(a.out, text);

  const nlohmann::json& p = record["predicted"][a.method];
  std::printf("| shape | method | weights | trainable | activations | workspace | allocator peak | predicted | peak RSS | "
              "RSS at start | step s | build s |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  using MC = MemoryComponent;
  std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %.1f |\n", record["shape"]["name"].get<std::string>().c_str(),
              a.method.c_str(), memory_bytes_text(double(mem.peak_of(MC::Weights))).c_str(),
              memory_bytes_text(double(mem.peak_of(MC::Trainable))).c_str(),
              memory_bytes_text(double(mem.peak_of(MC::Activations))).c_str(),
              memory_bytes_text(double(mem.peak_of(MC::Workspace))).c_str(),
              memory_bytes_text(double(mem.peak_total)).c_str(), memory_bytes_text(p["total"].get<double>()).c_str(),
              memory_bytes_text(double(rss_peak)).c_str(), memory_bytes_text(double(rss_start)).c_str(), step_s,
              built.seconds);
  std::printf("loss+ %.4f loss- %.4f d %+.3e%s; rss reset: %s%s\n", r.loss_plus[0], r.loss_minus[0], r.raw_grad[0],
              r.skipped ? " (NON-FINITE: skipped)" : "", rss_reset ? "yes" : "NO (process high-water mark)",
              a.out.empty() ? "" : ("; record: " + a.out).c_str());
  return std::isfinite(r.loss_plus[0]) && !r.skipped ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_memory_at_scale: %s\n", e.what());
  return 1;
}
