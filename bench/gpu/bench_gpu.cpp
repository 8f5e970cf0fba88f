// QZO at Llama-2 7B / 13B shapes on one device: forward ms, QZO step ms (two perturbed forwards
// + the scale update, through zo_step with a local communicator), their ratio (goal <= 2.1),
// tokens/s, MFU against a bf16 GEMM peak measured in the same run, and the allocator's peak
// memory by component (goals: 4.5 GB at 7B, 8 GB at 13B). Random int4 codes and scales, built
// layer by layer on the backend. Prints one markdown table.
//   bench_gpu [--backend cuda|cpu|auto] [--model 7b|13b|tiny | --tiny] [--batch 16] [--seq 256]
//             [--reps 5] [--labels all|last] [--dense bf16|f32] [--quant rtn:bits=4,group_size=128]
//             [--peak-n 8192] [--no-header] [--vs-cpu]
// --vs-cpu also builds the same random model on the CPU backend and compares forward losses
// at S and S + eps*z (a whole-model parity check; meant for --tiny).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/gpu/device_info.h"
#include "bench/common/llama_shapes.h"
#include "bench/common/random_quantized_model.h"
#include "framework/core/dtype.h"
#include "framework/methods/qzo.h"
#include "framework/train/zo_reduce.h"

using namespace qzo;

namespace {

struct Args {
  std::string backend = "auto", shape = "7b", labels = "all", dense = "bf16", quant = "rtn:bits=4,group_size=128";
  int batch = 0, seq = 0, reps = 5, peak_n = 0;  // 0: the shape's default
  bool header = true, vs_cpu = false;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "bench_gpu: %s\n", message.c_str());
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
    if (flag == "--backend") a.backend = value();
    else if (flag == "--model") a.shape = value();
    else if (flag == "--tiny") a.shape = "tiny";
    else if (flag == "--batch") a.batch = number();
    else if (flag == "--seq") a.seq = number();
    else if (flag == "--reps") a.reps = number();
    else if (flag == "--labels") a.labels = value();
    else if (flag == "--dense") a.dense = value();
    else if (flag == "--quant") a.quant = value();
    else if (flag == "--peak-n") a.peak_n = number();
    else if (flag == "--no-header") a.header = false;
    else if (flag == "--vs-cpu") a.vs_cpu = true;
    else usage_error("unknown flag '" + flag + "' (see the top of bench/gpu/bench_gpu.cpp)");
  }
  if (a.labels != "all" && a.labels != "last") usage_error("--labels is all or last, not '" + a.labels + "'");
  if (a.dense != "bf16" && a.dense != "f32") usage_error("--dense is bf16 or f32, not '" + a.dense + "'");
  return a;
}

ModelConfig shape_config(const std::string& shape) {
  const std::optional<ModelConfig> c = bench::llama2_shape(shape);
  if (!c) usage_error("--model is 7b, 13b or tiny, not '" + shape + "'");
  return *c;
}


// Random tokens; targets are the next token of the row (a random one after the last) when
// every position is labelled, or only the last position's (classification-style).
Batch random_batch(const ModelConfig& c, int B, int T, bool all_labelled, uint64_t seed) {
  Batch batch;
  batch.B = B;
  batch.T = T;
  std::vector<int32_t> ids(size_t(B) * (T + 1));
  for (int32_t& t : ids) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    t = int32_t((seed >> 33) % uint64_t(c.vocab_size));
  }
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      batch.tokens.push_back(ids[size_t(b) * (T + 1) + t]);
      batch.targets.push_back(all_labelled || t == T - 1 ? ids[size_t(b) * (T + 1) + t + 1] : -1);
    }
  return batch;
}

// Model FLOPs of one forward, PaLM's convention: 2 per multiply-add of every linear layer on
// every token, the LM head on the labelled rows only (what this forward computes), and
// attention's QK^T and PV counted in full (4·B·T²·q_dim per layer, no causal discount).
double forward_flops(const ModelConfig& c, int B, int T, int64_t labelled) {
  const double D = c.hidden_size, F = c.intermediate_size, Q = c.q_dim(), KV = c.kv_dim();
  const double per_layer_params = D * Q + 2 * D * KV + Q * D + 3 * D * F;
  const double tokens = double(B) * T;
  return 2 * tokens * per_layer_params * c.num_hidden_layers + 2 * double(labelled) * D * c.vocab_size +
         4.0 * B * double(T) * T * Q * c.num_hidden_layers;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timing {
  double forward_s = 0, step_s = 0, ratio = 0;
  double loss = 0, projected_grad = 0;
  int skipped = 0;
};

double seconds_of(Backend& be, const std::function<void()>& f) {
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  f();
  be.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Forward and QZO step timed alternately after one warm-up of each, so that drift hits both
// alike; the ratio is the median of the per-pair ratios.
// `warmup` gets the allocator's peaks from before the call through the warm-up, `steady` those
// of the timed pairs alone.
Timing time_forward_and_step(QzoParameters& params, const Batch& batch, int reps, Communicator& comm, Backend& be,
                             MemoryStats& warmup, MemoryStats& steady) {
  const Model& model = params.model();
  const auto current = params.current();
  const Objective objective = [&](const WeightSource& w) {
    const LossSums s = model.forward_loss(batch, &w);
    return LocalLoss{s.total_loss, double(s.total_count), double(batch.B) * batch.T};
  };
  ZoOptions zo;
  zo.eps = 1e-3f;
  Timing t;
  int64_t step = 0;
  auto forward = [&] { t.loss = model.forward_loss(batch, current.get()).mean(); };
  auto qzo_step = [&] {
    const ZoStepResult r = zo_step(params, objective, /*run_seed=*/1, step++, /*lr=*/1e-6, zo, comm);
    t.projected_grad = r.raw_grad[0];
    t.skipped += r.skipped;
  };
  forward();
  qzo_step();
  warmup = be.memory();
  be.memory().reset_peaks();  // the steady state: arenas at their high-water size
  std::vector<double> fwd, zs, ratio;
  for (int i = 0; i < reps; ++i) {
    fwd.push_back(seconds_of(be, forward));
    zs.push_back(seconds_of(be, qzo_step));
    ratio.push_back(zs.back() / fwd.back());
  }
  steady = be.memory();
  t.forward_s = median(fwd);
  t.step_s = median(zs);
  t.ratio = median(ratio);
  return t;
}

// The same random model on the CPU backend (the fp32 reference): forward losses at S and at
// S + eps*z on both. CUDA's default multiplies quantized weights in bf16, hence the 1e-2 bound
// (on the CPU backend this is a determinism check: the difference must be 0).
bool compare_with_cpu(const ModelConfig& config, const QuantSpec& spec, DType dense, const QuantizedModel& model,
                      const Batch& batch) {
  std::unique_ptr<Backend> cpu = make_backend("cpu");
  const bench::RandomModel ref = bench::random_quantized_model(config, spec, dense, *cpu, /*seed=*/7);
  bool ok = true;
  for (const float eps : {0.0f, 1e-3f}) {
    const std::optional<Perturbation> p =
        eps == 0.0f ? std::nullopt : std::optional<Perturbation>(Perturbation{/*seed=*/99, eps});
    const double device = model.forward_loss(batch, p).mean(), host = ref.model.forward_loss(batch, p).mean();
    const double rel = std::fabs(device - host) / std::max(1e-12, std::fabs(host));
    ok = ok && rel < 1e-2;
    std::printf("vs-cpu %s: loss %s %.6f, cpu %.6f, relative difference %.2e (bound 1e-2): %s\n",
                eps == 0.0f ? "at S" : "at S+eps*z", model.model().backend().name().c_str(), device, host, rel,
                rel < 1e-2 ? "ok" : "MISMATCH");
  }
  return ok;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

// Two decimals, or three significant digits below 1 (tiny models must not print 0.00).
std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, v >= 1.0 || v == 0.0 ? "%.2f" : "%.3g", v);
  return text;
}
std::string gb(size_t bytes) { return num(double(bytes) / 1e9); }

void print_table_header() {
  std::printf(
      "| model | impl | batch | fwd ms | step ms | step/fwd | fwd TFLOP/s | MFU | step tok/s | weights GB | "
      "trainable GB | activations GB | workspace GB | peak GB | steady GB | device GB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse_args(argc, argv);
  const bool tiny = args.shape == "tiny";
  const ModelConfig config = shape_config(args.shape);
  const int B = args.batch ? args.batch : tiny ? 4 : 16, T = args.seq ? args.seq : tiny ? 64 : 256;
  const QuantSpec spec = QuantSpec::parse(args.quant);
  const DType dense = args.dense == "bf16" ? DType::BF16 : DType::F32;

  std::unique_ptr<Backend> backend = make_backend(args.backend);
  Backend& be = *backend;
  const bench::DeviceInfo info = bench::device_info(be);
  const int peak_n = args.peak_n ? args.peak_n : be.is_host() ? (tiny ? 512 : 2048) : 8192;
  const bench::PeakMeasure peak = bench::measure_peak(be, peak_n, be.is_host() ? 3 : 20);

  const auto t_build = std::chrono::steady_clock::now();
  bench::RandomModel built = bench::random_quantized_model(config, spec, dense, be, /*seed=*/7);
  be.synchronize();
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();
  QuantizedModel& qm = built.model;

  const Batch batch = random_batch(config, B, T, args.labels == "all", 11);
  const bool parity_ok = !args.vs_cpu || compare_with_cpu(config, spec, dense, qm, batch);
  // The run's own accounting starts here: after the model is built (and, with --vs-cpu, after
  // passes that already grew the arenas, so that "peak" is then the steady state too).
  be.memory().reset_peaks();

  QzoParameters params(qm, 1e-7f);
  auto comm = make_local_communicator();
  MemoryStats mem, steady;  // mem: the whole run's peaks, warm-up included
  const Timing t = time_forward_and_step(params, batch, args.reps, *comm, be, mem, steady);
  for (int c = 0; c < kMemoryComponents; ++c) mem.peak[c] = std::max(mem.peak[c], steady.peak[c]);
  mem.peak_total = std::max(mem.peak_total, steady.peak_total);

  const double flops = forward_flops(config, B, T, batch.labelled());
  const double fwd_tflops = flops / t.forward_s / 1e12;
  const double mfu = fwd_tflops / peak.tflops;
  const std::string impl = std::string("qzo ") + (be.is_host() ? "cpu" : "cuda") + " " + spec.to_string();

  if (args.header) {
    std::printf("# bench_gpu | %s | driver %s | %s\n", info.name.c_str(), info.driver.c_str(), utc_now().c_str());
    std::printf("peak: %s TFLOP/s (%s, measured in this run)\n", num(peak.tflops).c_str(), peak.what.c_str());
    print_table_header();
  }
  using MC = MemoryComponent;
  std::printf("| %s | %s | %dx%d | %.1f | %.1f | %.2f | %s | %.1f%% | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
              bench::llama2_shape_label(args.shape).c_str(), impl.c_str(), B, T, t.forward_s * 1e3, t.step_s * 1e3, t.ratio,
              num(fwd_tflops).c_str(), 100 * mfu, double(B) * T / t.step_s, gb(mem.peak_of(MC::Weights)).c_str(),
              gb(mem.peak_of(MC::Trainable)).c_str(), gb(mem.peak_of(MC::Activations)).c_str(),
              gb(mem.peak_of(MC::Workspace)).c_str(), gb(mem.peak_total).c_str(), gb(steady.peak_total).c_str(),
              gb(bench::device_used_bytes(be)).c_str());
  std::printf(
      "notes %s: %s; %zu scales; built in %.1f s; loss %.4f, d %+.3e%s; %d labelled of %d tokens; dense %s; "
      "median of %d (forward, step) pairs; peak/steady GB: allocator peak of the sum since the model was built / "
      "over the timed pairs; device GB: in use per the driver at the end; GB = 1e9 bytes\n",
      bench::llama2_shape_label(args.shape).c_str(), built.how.c_str(), qm.num_scales(), build_s, t.loss, t.projected_grad,
      t.skipped ? " (NON-FINITE: updates skipped)" : "", int(batch.labelled()), B * T, args.dense.c_str(), args.reps);
  return std::isfinite(t.loss) && t.skipped == 0 && parity_ok ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_gpu: %s\n", e.what());
  return 1;
}
