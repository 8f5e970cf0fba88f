// One step of a backprop method (QLoRA, FT), data-parallel: every rank backprops the summed
// loss of its shard, the ranks sum their gradients bucket by bucket and the loss scalars in
// one more all-reduce, and every rank divides by the global count, clips the global norm and
// applies the identical optimizer step. Bytes per step: 4 per trainable value + 24.
#pragma once
#include <cstddef>
#include <cstdint>

#include "framework/dist/communicator.h"
#include "framework/methods/backprop_parameters.h"
#include "framework/methods/zo_step.h"
#include "framework/train/task_encoding.h"

namespace qzo {

struct BackpropStepOptions {
  double max_grad_norm = 0;          // 0: no clipping of the global gradient norm
  bool stop_on_nonfinite = false;    // else a step with a non-finite loss or norm is skipped
  size_t bucket_bytes = 4u << 20;    // gradients all-reduced in buckets of at most this much
  BackpropOptions pass;
};

// The dropout masks' seed of `rank` at `step`: every rank's shard gets its own masks.
uint64_t dropout_seed(uint64_t run_seed, int64_t step, int rank);

// Sums every rank's gradients in place, bucket by bucket (a no-op on one rank).
void all_reduce_gradients(BackpropParameters& params, Communicator& comm, size_t bucket_bytes);

// The step's record in the ZO step's shape, so that the trainer and log treat every method
// alike: loss_plus = loss_minus = the global mean loss; raw_grad / clipped_grad = the global
// gradient norm before / after clipping; clipped = 1 when clipping scaled the gradient.
ZoStepResult backprop_step(BackpropParameters& params, const std::vector<EncodedExample>& shard, bool generation,
                           uint64_t run_seed, int64_t step, double lr, const BackpropStepOptions& options,
                           Communicator& comm);

}  // namespace qzo
