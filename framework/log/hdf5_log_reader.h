// Reading a run log back (the report, the sweep runner's skip/restart decision and the tests
// use it): every /runs/<name> group with its provenance, step and eval columns and summary.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "framework/log/run_log.h"

namespace qzo {

// The per-step columns of one run, row i of each belonging together.
struct LoggedSteps {
  std::vector<int64_t> step, perturbation, tokens, skipped_steps;
  std::vector<double> loss_plus, loss_minus, proj_grad_raw, proj_grad_clipped, lr, wall_s;
  std::vector<int64_t> clipped;  // 0/1
  size_t size() const { return step.size(); }
};

struct LoggedRun {
  RunInfo info;  // name, config, method, quantizer, task, metric, backend, world size, seed, hosts
  // "running" (never finished: killed, or still going), "finished", "failed: ...", or
  // "unreadable: <why>" for a run file of an index that cannot be read (only info.name is set)
  std::string status;
  std::string git_commit, start_time, end_time;
  nlohmann::json labels = nlohmann::json::object();  // the sweep point this run is
  int sweep_index = -1;                               // its position in the sweep file
  nlohmann::json summary = nlohmann::json::object();  // run_training's summary; {} unless finished
  LoggedSteps steps;
  std::vector<EvalRecord> evals;
  bool finished() const { return status == "finished"; }
};

// Runs in name order: an index's run files (docs/hdf5-log.md), or the groups of a single-file
// log (the layout before per-run files, and each run's own file). With `with_columns` false
// the step and eval columns are left empty (enough to decide what a sweep must still run).
// Throws one line naming the file and the group when it is not a run log.
std::vector<LoggedRun> read_run_log(const std::string& path, bool with_columns = true);

}  // namespace qzo
