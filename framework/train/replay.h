// Trajectory replay: a ZO run's trained state is a pure function of the base model and the
// logged (step, perturbation, clipped projected gradient, lr) rows — z is regenerated from
// (run seed, step, k) — so the log alone rebuilds the fine-tuned model, bit for bit.
#pragma once
#include <cstdint>
#include <string>

#include "framework/log/hdf5_log_reader.h"

namespace qzo {

struct ReplayResult {
  long steps = 0;           // updates replayed (the state after this many steps)
  long skipped = 0;         // of them, steps logged as skipped (non-finite): no update
  size_t trajectory_bytes = 0;  // what the replay read per perturbation-step: d and lr, 8 B each
  uint64_t state_hash = 0;  // of the replayed trainable state (the run's summary state_hash)
};

// Rebuilds the model the run trained (its logged config), applies the logged updates of
// steps [0, up_to_step) — by default the run's selected state (summary best_step) — and
// writes it to out_dir as a model folder (quantized for QZO). Throws one line naming the run
// when its log cannot be replayed (no steps logged, a ZO method missing, rows out of order).
ReplayResult replay_run(const LoggedRun& run, const std::string& out_dir, long up_to_step = -1);

}  // namespace qzo
