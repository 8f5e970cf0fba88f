// `qzo train CONFIG`: fine-tunes (QZO, MeZO) or evaluates (zero-shot, ICL) a model on a
// task, with dev-set checkpoint selection, a progress line on rank 0, and a final table
// plus runs/<name>/summary.json. Data-parallel ready: each rank scores its own shard of
// every batch and the communicator sums the loss scalars.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "framework/config/config.h"
#include "framework/config/schema.h"
#include "framework/dist/communicator.h"
#include "framework/log/run_log.h"

namespace qzo {

const Schema& train_schema();

// Runs the configured job; returns the summary also written to summary.json. On rank 0,
// `log` (when given) receives the run's provenance, every step, every evaluation and the
// summary; a run that throws is finished as "failed: <message>" before the error goes on.
nlohmann::json run_training(const Config& config, Communicator& comm, RunLog* log = nullptr);

}  // namespace qzo
