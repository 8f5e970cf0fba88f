// `qzo train CONFIG`: fine-tunes (QZO, MeZO) or evaluates (zero-shot, ICL) a model on a
// task, with dev-set checkpoint selection, a progress line on rank 0, and a final table
// plus runs/<name>/summary.json. Data-parallel ready: each rank scores its own shard of
// every batch and the communicator sums the loss scalars.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "framework/config/config.h"
#include "framework/config/schema.h"
#include "framework/dist/communicator.h"
#include "framework/log/run_log.h"
#include "framework/methods/qzo.h"
#include "framework/train/run_outputs.h"

namespace qzo {

const Schema& train_schema();

// QZO's trainable scales of `model` with the config's method.scale_floor and method.perturbation.
std::unique_ptr<QzoParameters> qzo_parameters(const Config& cfg, QuantizedModel& model);

// Runs the configured job; returns the summary also written to summary.json. On rank 0,
// `log` (when given) receives the run's provenance, every step, every evaluation and the
// summary; a run that throws is finished as "failed: <message>" before the error goes on.
// Before any weight loads, rank 0 checks that log.dir and runs/<name> are writable and hold
// no other run's outputs (run_outputs.h). SIGINT/SIGTERM under a StopSignals guard stop every
// rank after the same step with a checkpoint; the log is finished as "interrupted" and
// Interrupted is thrown (stop_signals.h).
nlohmann::json run_training(const Config& config, Communicator& comm, RunLog* log = nullptr);
// The same with explicit RunOptions (`qzo train --overwrite`, `qzo sweep`).
nlohmann::json run_training_with(const RunOptions& options, const Config& config, Communicator& comm,
                                 RunLog* log = nullptr);

}  // namespace qzo
