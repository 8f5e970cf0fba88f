// One zeroth-order step (DESIGN.md §1), shaped for data parallelism but blind to it: every
// rank evaluates L(θ ± εz) on its own shard into local sums [Σloss+, Σloss−, count] for all
// n perturbations (plus one token count); the trainer all-reduces them (train/zo_reduce.h),
// and every rank derives the same projected gradients from the global sums and applies the
// same update. In perturbation-parallel mode the ranks split the n perturbations instead.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "framework/methods/zo_parameters.h"

namespace qzo {

// How the projected gradient moves θ: ZO-SGD (θ ← θ − η d z, the paper's) or ZO-SignSGD
// (θ ← θ − η sign(d) z, the baseline the paper's reviewers asked for).
enum class ZoUpdate { sgd, signsgd };
ZoUpdate parse_zo_update(const std::string& name);  // "sgd" | "signsgd"

struct ZoOptions {
  ZoUpdate update = ZoUpdate::sgd;
  float eps = 1e-3f;
  int n_perturbations = 1;
  std::optional<double> clip_threshold;  // nullopt: no directional-derivative clipping
  float weight_decay = 0.0f;             // MeZO only
  bool stop_on_nonfinite = false;        // else the step is skipped and counted
  // Perturbation-parallel: rank r evaluates the perturbations k ≡ r (mod world size) on the
  // whole batch instead of all n on its shard; the zero-padded sums reduce to the gather of
  // every rank's scalars, and every rank applies all n updates.
  bool perturbation_parallel = false;
};

// A rank's summed loss over its shard, the number of terms in the sum, and the tokens its
// forward pass processed (reduced in the same all-reduce for the progress line and log).
struct LocalLoss {
  double sum = 0;
  double count = 0;
  double tokens = 0;
};

using Objective = std::function<LocalLoss(const WeightSource&)>;

struct ZoStepResult {
  std::vector<double> loss_plus, loss_minus;  // global means, one per perturbation
  std::vector<double> raw_grad, clipped_grad; // projected gradients d, before and after clipping
  int clipped = 0;                            // how many of the n were clipped
  bool skipped = false;                       // a non-finite loss: no update was applied
  double count = 0;                           // global number of loss terms
  double tokens = 0;                          // global tokens processed by all forwards
  int forward_passes = 0;                     // on this rank
};

// The seed of perturbation k at `step`: the same on every rank, independent of n.
uint64_t perturbation_seed(uint64_t run_seed, int64_t step, int k);

double clip_projected_grad(double d, const std::optional<double>& threshold);

// The step multiplying z_k in θ ← θ + step·z_k, one of n averaged perturbations, from the
// clipped projected gradient: the trainer and replay (train/replay.h) share it bit for bit.
float zo_update_step(double lr, double clipped_grad, int n, ZoUpdate rule);

// Which ranks' shares of the step this rank evaluates.
struct ZoShard {
  int rank = 0, world_size = 1;
};

// This rank's two forwards per perturbation: the 3n + 1 local sums
// [Σloss+_k, Σloss−_k, count_k for each k, tokens] that the trainer all-reduces.
struct ZoLocalSums {
  std::vector<double> sums;
  int forward_passes = 0;
};
ZoLocalSums zo_evaluate(const ZoParameters& params, const Objective& objective, uint64_t run_seed, int64_t step,
                        const ZoOptions& options, const ZoShard& shard);

// The projected gradients from the all-reduced sums, clipping, and the update (skipped on a
// non-finite loss, or a failure when options.stop_on_nonfinite).
ZoStepResult zo_apply(ZoParameters& params, const ZoLocalSums& global, uint64_t run_seed, int64_t step, double lr,
                      const ZoOptions& options);

}  // namespace qzo
