#include "framework/train/backprop_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "framework/core/error.h"
#include "framework/train/task_backprop.h"

namespace qzo {

uint64_t dropout_seed(uint64_t run_seed, int64_t step, int rank) {
  return perturbation_seed(run_seed ^ 0xd80b0e7ULL, step, rank);
}

void all_reduce_gradients(BackpropParameters& params, Communicator& comm, size_t bucket_bytes) {
  if (comm.size() == 1) return;
  const size_t capacity = std::max<size_t>(1, bucket_bytes / sizeof(float));
  std::vector<float> bucket;
  bucket.reserve(capacity);
  std::vector<std::pair<float*, size_t>> pieces;  // where each run of the bucket came from
  Backend& be = params.backend();                 // gradients may live on a device: staged through the host
  auto flush = [&] {
    if (bucket.empty()) return;
    comm.all_reduce_sum(bucket.data(), int(bucket.size()));
    size_t at = 0;
    for (const auto& [dst, n] : pieces) {
      be.upload(dst, bucket.data() + at, n * sizeof(float));
      at += n;
    }
    bucket.clear();
    pieces.clear();
  };
  for (TrainableTensor& t : params.tensors())
    for (size_t done = 0; done < size_t(t.n);) {  // a tensor larger than a bucket spans several
      const size_t n = std::min(size_t(t.n) - done, capacity - bucket.size());
      bucket.resize(bucket.size() + n);
      be.download(bucket.data() + bucket.size() - n, t.grad + done, n * sizeof(float));
      pieces.emplace_back(t.grad + done, n);
      done += n;
      if (bucket.size() == capacity) flush();
    }
  flush();
}

ZoStepResult backprop_step(BackpropParameters& params, const std::vector<EncodedExample>& shard, bool generation,
                           uint64_t run_seed, int64_t step, double lr, const BackpropStepOptions& options,
                           Communicator& comm) {
  params.zero_gradients();
  const auto source = params.training_source(dropout_seed(run_seed, step, comm.rank()));
  const ObjectiveSum local = task_objective_backprop(params.model(), *source, shard, generation,
                                                     params.gradient_targets(), options.pass);
  all_reduce_gradients(params, comm, options.bucket_bytes);
  double sums[3] = {local.sum, local.count, double(local.tokens)};
  comm.all_reduce_sum(sums, 3);
  ZoStepResult r;
  r.count = sums[1];
  r.tokens = sums[2];
  r.forward_passes = options.pass.activation_checkpointing ? 2 : 1;
  const double loss = sums[1] > 0 ? sums[0] / sums[1] : NAN;
  params.scale_gradients(sums[1] > 0 ? float(1.0 / sums[1]) : 0.0f);
  const double norm = params.gradient_norm();
  const bool clip = options.max_grad_norm > 0 && norm > options.max_grad_norm;
  r.loss_plus = r.loss_minus = {loss};
  r.raw_grad = {norm};
  r.clipped_grad = {clip ? options.max_grad_norm : norm};
  r.clipped = clip ? 1 : 0;
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    if (options.stop_on_nonfinite)
      fail("step " + std::to_string(step) + ": non-finite loss or gradient norm (method.nonfinite: stop)");
    r.skipped = true;
    return r;
  }
  if (clip) params.scale_gradients(float(options.max_grad_norm / norm));
  params.optimizer_step(float(lr));
  return r;
}

}  // namespace qzo
