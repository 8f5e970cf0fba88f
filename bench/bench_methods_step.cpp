// One training step of every method on the same spam-shaped batch of the default model:
// QZO and MeZO (two forwards + update), QLoRA with both presets (forward + backward through
// the frozen NF4 base, AdamW) and full fine-tuning (AdamW, SGD). Prints the median step time,
// its ratio to one forward of the same batch, and the step's allocator peaks by component
// (the arenas reset before the step, so the figure is the step's own).
//   build/bench_methods_step [model_dir] [threads] [reps=7]
#include <cstdio>
#include <cstdlib>

#include "bench/common/step_bench.h"
#include "framework/core/threads.h"
#include "framework/methods/full_finetune.h"
#include "framework/methods/lora.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/backprop_step.h"
#include "framework/train/zo_reduce.h"

using namespace qzo;

namespace {

struct Bench {
  std::vector<EncodedExample> batch;
  EncodingOptions opts;
  std::unique_ptr<Communicator> comm = make_local_communicator();
  int reps = 7;
};

// The step timed against a forward of the same weights, alternately (load drifts into both).
void report(const char* label, const Model& model, const WeightSource& weights, const std::function<void()>& step,
            const Bench& b) {
  auto forward = [&] { task_objective(model, weights, b.batch, false, b.opts); };
  forward();
  step();  // warm-up: workspaces sized, caches filled
  model.backend().memory().reset_peaks();
  std::vector<double> fwd, steps, ratio;
  for (int i = 0; i < b.reps; ++i) {
    fwd.push_back(bench::seconds_of(forward));
    steps.push_back(bench::seconds_of(step));
    ratio.push_back(steps.back() / fwd.back());
  }
  const MemoryStats& m = model.backend().memory();
  std::printf("%-26s %9.1f %9.1f %6.2f", label, bench::median(fwd) * 1e3, bench::median(steps) * 1e3,
              bench::median(ratio));
  for (int c = 0; c < kMemoryComponents; ++c) std::printf(" %9.2f", double(m.peak[c]) / 1e6);
  std::printf(" %9.2f\n", double(m.peak_total) / 1e6);
}

void zo(const char* label, ZoParameters& params, double lr, const Bench& b) {
  const Model& model = params.model();
  ZoOptions o;
  o.clip_threshold = 100.0;
  const Objective f = [&](const WeightSource& w) {
    const ObjectiveSum s = task_objective(model, w, b.batch, false, b.opts);
    return LocalLoss{s.sum, s.count, double(s.tokens)};
  };
  long step = 0;
  report(label, model, *params.current(), [&] { zo_step(params, f, 1, step++, lr, o, *b.comm); }, b);
}

void backprop(const char* label, BackpropParameters& params, double lr, double max_norm, const Bench& b) {
  BackpropStepOptions o;
  o.max_grad_norm = max_norm;
  long step = 0;
  report(label, params.model(), *params.current(),
         [&] { backprop_step(params, b.batch, false, 1, step++, lr, o, *b.comm); }, b);
}

LoraSpec preset(int rank, float dropout, const std::string& targets) {
  LoraSpec s;
  s.rank = rank;
  s.alpha = 16.0f;
  s.dropout = dropout;
  s.targets = parse_lora_targets(targets, "bench");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny";
  set_compute_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  Bench b;
  b.reps = argc > 3 ? std::atoi(argv[3]) : 7;
  b.batch = bench::spam_shaped_batch(16, 128);
  b.opts.batch_rows = 16;
  std::printf("batch 16 x 128 tokens, %d threads, model %s; memory: the step's allocator peaks (MB)\n",
              compute_threads(), file_exists(dir + "/config.json") ? dir.c_str() : "(random, default shape)");
  std::printf("%-26s %9s %9s %6s", "method", "fwd ms", "step ms", "ratio");
  for (int c = 0; c < kMemoryComponents; ++c) std::printf(" %9s", memory_component_name(MemoryComponent(c)));
  std::printf(" %9s\n", "total");
  {
    QuantizedModel qm = QuantizedModel::quantize(bench::default_shaped_model(dir), QuantSpec::parse("rtn:group_size=32"));
    QzoParameters params(qm, 1e-7f);
    zo("qzo rtn4-g32", params, 1e-5, b);
  }
  {
    Model model = bench::default_shaped_model(dir);
    MezoParameters params(model);
    zo("mezo f32", params, 1e-6, b);
  }
  const QuantSpec nf4 = QuantSpec::parse("nf4:double_quant=true");
  for (const auto& [label, spec, norm] :
       {std::make_tuple("qlora-paper r8 q,v", preset(8, 0.05f, "q_proj,v_proj"), 1.0),
        std::make_tuple("qlora-recipe r64 all", preset(64, 0.1f, "all-linear"), 0.3)}) {
    QuantizedModel qm = QuantizedModel::quantize(bench::default_shaped_model(dir), nf4);
    LoraParameters params(qm.model(), std::make_unique<QuantizedWeights>(qm), spec, 1, {});
    backprop(label, params, 1e-4, norm, b);
  }
  for (const auto& [label, kind] : {std::make_pair("ft adamw f32", BackpropOptimizer::adamw),
                                    std::make_pair("ft sgd f32", BackpropOptimizer::sgd)}) {
    Model model = bench::default_shaped_model(dir);
    OptimizerOptions o;
    o.kind = kind;
    FullParameters params(model, o);
    backprop(label, params, 1e-5, 1.0, b);
  }
}
