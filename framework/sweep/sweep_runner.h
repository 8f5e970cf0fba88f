// Runs an expanded sweep into one HDF5 log: the runs execute one after another in this
// process, each data-parallel over the communicator's ranks; runs the log holds as finished
// are skipped and unfinished ones (killed, failed) are deleted and rerun.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/dist/communicator.h"
#include "framework/log/run_log.h"
#include "framework/sweep/sweep_spec.h"

namespace qzo {

enum class RunPlan { fresh, restart, skip };

// Rank 0 reads the log and decides for every run; all ranks receive the same decisions (or
// the same error). A run finished with a config other than the sweep's now is an error naming
// the run and the first differing key, not a silent skip or overwrite.
std::vector<RunPlan> plan_sweep(const std::vector<SweepRun>& runs, const std::string& output, Communicator& comm);

// What runs one training job; run_training unless a test substitutes it.
using TrainFn = std::function<nlohmann::json(const Config&, Communicator&, RunLog*)>;

struct SweepOutcome {
  int ran = 0, skipped = 0;
};

// Plans, then runs every run that is not finished, in order; the first run that throws stops
// the sweep (it is left in the log as failed and rerun next time). Progress goes to `out` on
// rank 0.
SweepOutcome run_sweep(const SweepSpec& spec, const std::vector<SweepRun>& runs, const std::string& output,
                       Communicator& comm, const TrainFn& train, std::FILE* out = stdout, int flush_every = 10);

}  // namespace qzo
