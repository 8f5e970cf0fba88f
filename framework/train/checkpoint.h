// A training run's resumable state: the trainable values, the dev-selected best values,
// and the counters, written atomically every log.checkpoint_interval steps beside
// summary.json and removed when the run finishes. Because a step's batch and z depend
// only on (seed, step), a resumed run continues exactly as the uninterrupted one would
// (DESIGN.md §2; tested bit for bit).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/config.h"

namespace qzo {

struct TrainingCheckpoint {
  int64_t next_step = 0;  // the first step the resumed run takes
  std::vector<std::vector<uint8_t>> state;       // ZoParameters::snapshot()
  std::vector<std::vector<uint8_t>> best_state;  // empty before the first dev evaluation
  double best_dev = 0;
  int64_t best_step = 0;
  int64_t clipped = 0, skipped = 0, perturbations = 0, tokens = 0;
  double loss_ema = 0;
  double train_seconds = 0;  // training-step seconds before next_step (0 in checkpoints before it was kept)
  std::string config_yaml;  // the run's resolved config
};

void save_checkpoint(const std::string& path, const TrainingCheckpoint& checkpoint);
// nullopt when there is no file; throws naming the file when it is not a checkpoint.
std::optional<TrainingCheckpoint> load_checkpoint(const std::string& path);

// The first key that would change the trajectory between a stored resolved config and this
// one, as "optim.lr = 3.0e-05 there, 1.0e-04 here"; "" when the trajectories are the same.
// Keys that only change reporting or execution (log.*, threads, dist.backend,
// dist.guard_interval) may differ. `where` names the stored config in a load error.
std::string first_trajectory_difference(const std::string& stored_yaml, const std::string& where, const Config& config);

// Throws "<path>: checkpoint was written with optim.lr = 1.0e-05, this run has 3.0e-05"
// naming the first key that would change the trajectory. Keys that only change reporting
// or execution (log.*, threads, dist.backend, dist.guard_interval) may differ.
void require_resumable(const std::string& path, const TrainingCheckpoint& checkpoint, const Config& config);

}  // namespace qzo
