#include "framework/methods/zo_step.h"

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"

namespace qzo {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t perturbation_seed(uint64_t run_seed, int64_t step, int k) {
  return splitmix64(splitmix64(splitmix64(run_seed) ^ static_cast<uint64_t>(step)) ^ static_cast<uint64_t>(k));
}

ZoUpdate parse_zo_update(const std::string& name) {
  if (name == "sgd") return ZoUpdate::sgd;
  if (name == "signsgd") return ZoUpdate::signsgd;
  fail("method.update: '" + name + "' is not an update rule (expected sgd or signsgd)");
}

float zo_update_step(double lr, double clipped_grad, int n, ZoUpdate rule) {
  const double g = rule == ZoUpdate::sgd ? clipped_grad : double((clipped_grad > 0) - (clipped_grad < 0));
  return static_cast<float>(-lr * g / n);
}

double clip_projected_grad(double d, const std::optional<double>& threshold) {
  if (!threshold) return d;
  return std::clamp(d, -*threshold, *threshold);
}

ZoLocalSums zo_evaluate(const ZoParameters& params, const Objective& objective, uint64_t run_seed, int64_t step,
                        const ZoOptions& o, const ZoShard& shard) {
  const int n = o.n_perturbations;
  if (n < 1) fail("method.n_perturbations must be at least 1");
  if (o.perturbation_parallel && n < shard.world_size)
    fail("dist.mode perturbation: method.n_perturbations (" + std::to_string(n) + ") must be at least the world size (" +
         std::to_string(shard.world_size) + ")");
  ZoLocalSums local;
  // [Σloss+_k, Σloss−_k, count_k] for every k: the step's only communication.
  local.sums.assign(3 * static_cast<size_t>(n) + 1, 0.0);
  std::vector<double>& sums = local.sums;
  const int first = o.perturbation_parallel ? shard.rank : 0, stride = o.perturbation_parallel ? shard.world_size : 1;
  for (int k = first; k < n; k += stride) {
    const uint64_t seed = perturbation_seed(run_seed, step, k);
    const LocalLoss plus = objective(*params.perturbed(seed, +o.eps));
    const LocalLoss minus = objective(*params.perturbed(seed, -o.eps));
    local.forward_passes += 2;
    sums[3 * k] = plus.sum;
    sums[3 * k + 1] = minus.sum;
    sums[3 * k + 2] = plus.count;
    sums[3 * static_cast<size_t>(n)] += plus.tokens + minus.tokens;
  }
  return local;
}

ZoStepResult zo_apply(ZoParameters& params, const ZoLocalSums& global, uint64_t run_seed, int64_t step, double lr,
                      const ZoOptions& o) {
  const int n = o.n_perturbations;
  const std::vector<double>& sums = global.sums;
  if (sums.size() != 3 * static_cast<size_t>(n) + 1) fail("zo step: sums do not match method.n_perturbations");
  ZoStepResult r;
  r.forward_passes = global.forward_passes;
  r.tokens = sums[3 * static_cast<size_t>(n)];
  for (int k = 0; k < n; ++k) {
    const double count = std::max(1.0, sums[3 * k + 2]);
    const double lp = sums[3 * k] / count, lm = sums[3 * k + 1] / count;
    const double d = (lp - lm) / (2.0 * o.eps);
    const double c = clip_projected_grad(d, o.clip_threshold);
    r.loss_plus.push_back(lp);
    r.loss_minus.push_back(lm);
    r.raw_grad.push_back(d);
    r.clipped_grad.push_back(c);
    r.clipped += c != d;
    r.count = sums[3 * k + 2];
    if (!std::isfinite(lp) || !std::isfinite(lm)) r.skipped = true;
  }
  if (r.skipped) {
    if (o.stop_on_nonfinite)
      fail("step " + std::to_string(step) + ": non-finite loss (L+ " + std::to_string(r.loss_plus[0]) + ", L- " +
           std::to_string(r.loss_minus[0]) + ") and method.nonfinite is 'stop'");
    return r;
  }
  // The n updates are averaged; z_k is regenerated from its seed, never stored.
  for (int k = 0; k < n; ++k)
    params.update(perturbation_seed(run_seed, step, k), zo_update_step(lr, r.clipped_grad[k], n, o.update),
                  static_cast<float>(lr * o.weight_decay / n));
  return r;
}

}  // namespace qzo
