// Is a zeroth-order step "two forwards and nothing else"? Times one forward of a batch and
// one full QZO / MeZO step (two perturbed forwards + the update) on the same batch, and
// prints the ratio (target: ≤ 2.1). Uses models/qzo-tiny when present, else a random model
// of the same shape.
//   build/bench_zo_step [model_dir] [threads] [pairs=9]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>

#include "framework/core/paths.h"
#include "framework/core/threads.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/zo_reduce.h"
#include "framework/train/task_encoding.h"
#include "bench/common/step_bench.h"

using namespace qzo;
using qzo::bench::default_shaped_model;
using qzo::bench::median;
using qzo::bench::seconds_of;

namespace {

// Forward and ZO step timed alternately, so that load from other processes drifts into both
// alike; the ratio is the median of the per-pair ratios.
void compare(const char* label, ZoParameters& params, const std::vector<EncodedExample>& batch,
             const EncodingOptions& opts, double lr, const ZoOptions& zo, Communicator& comm, int reps) {
  const Model& model = params.model();
  const auto weights = params.current();
  const Objective f = [&](const WeightSource& w) {
    const ObjectiveSum s = task_objective(model, w, batch, false, opts);
    return LocalLoss{s.sum, s.count, double(s.tokens)};
  };
  long step = 0;
  auto forward = [&] { task_objective(model, *weights, batch, false, opts); };
  auto zo_once = [&] { zo_step(params, f, 1, step++, lr, zo, comm); };
  forward();  // warm-up: workspaces allocated, caches filled
  zo_once();
  std::vector<double> fwd, zs, ratio;
  for (int i = 0; i < reps; ++i) {
    fwd.push_back(seconds_of(forward));
    zs.push_back(seconds_of(zo_once));
    ratio.push_back(zs.back() / fwd.back());
  }
  std::printf("%-22s %12.1f %12.1f %8.2f\n", label, median(fwd) * 1e3, median(zs) * 1e3, median(ratio));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny";
  set_compute_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  const int reps = argc > 3 ? std::atoi(argv[3]) : 9;
  const int B = 16, T = 128;
  const std::vector<EncodedExample> batch = bench::spam_shaped_batch(B, T);
  EncodingOptions opts;
  opts.batch_rows = B;
  auto comm = make_local_communicator();
  ZoOptions zo;
  zo.clip_threshold = 100.0;

  std::printf("batch %d x %d tokens, %d threads (OpenBLAS %s build), model %s\n", B, T, compute_threads(),
              blas_threading(), file_exists(dir + "/config.json") ? dir.c_str() : "(random, default shape)");
  std::printf("%-22s %12s %12s %8s\n", "method", "forward ms", "ZO step ms", "ratio");
  {
    QuantizedModel qm = QuantizedModel::quantize(default_shaped_model(dir), QuantSpec::parse("rtn:bits=4,group_size=32"));
    QzoParameters params(qm, 1e-7f);
    compare("qzo rtn4 g32", params, batch, opts, 1e-5, zo, *comm, reps);
  }
  {
    Model model = default_shaped_model(dir);
    MezoParameters params(model);
    compare("mezo f32", params, batch, opts, 1e-6, zo, *comm, reps);
  }
}
