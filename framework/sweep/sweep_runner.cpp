// Skip/restart planning and the sequential run loop of a sweep (see sweep_runner.h).
#include "framework/sweep/sweep_runner.h"

#include <map>

#include "framework/config/load.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/log/hdf5_run_log.h"

namespace qzo {

namespace {

// "optim.steps: 300 in the file, 100 now", or "" when no key differs.
std::string first_difference(const std::string& stored_yaml, const std::string& where, const Config& now) {
  try {
    const Config stored = load_config_text(stored_yaml, where, now.schema());
    for (const KeySpec& key : now.schema().keys()) {
      const std::string was = format_value(stored.value(key.path)), is = format_value(now.value(key.path));
      if (was != is) return key.path + ": " + was + " in the file, " + is + " now";
    }
  } catch (const Error&) {
    return "its stored config no longer loads";
  }
  return "";
}

// One character per run ('f' fresh, 'r' restart, 's' skip), or '!' and an error message.
std::string decide(const std::vector<SweepRun>& runs, const std::string& output) {
  std::map<std::string, LoggedRun> logged;
  if (file_exists(output))
    for (LoggedRun& r : read_run_log(output, false)) logged.emplace(r.info.name, std::move(r));
  std::string plan;
  for (const SweepRun& run : runs) {
    const auto it = logged.find(run.name);
    if (it == logged.end()) {
      plan += 'f';
    } else if (!it->second.finished()) {
      plan += 'r';
    } else if (it->second.info.config_hash == run.config.hash()) {
      plan += 's';
    } else {
      // Hashes also differ when the schema gained a key since the run (its default then fills
      // the stored config in), so values decide.
      const std::string diff = first_difference(it->second.info.config_yaml, output + ":/runs/" + run.name, run.config);
      if (!diff.empty())
        return "!" + output + ": run '" + run.name + "' finished earlier with another config (" + diff +
               "); write to another output or delete the file";
      plan += 's';
    }
  }
  return plan;
}

const char* describe(RunPlan p) {
  switch (p) {
    case RunPlan::fresh: return "run";
    case RunPlan::restart: return "rerun (unfinished in the log)";
    case RunPlan::skip: return "skip (finished)";
  }
  return "";
}

}  // namespace

std::vector<RunPlan> plan_sweep(const std::vector<SweepRun>& runs, const std::string& output, Communicator& comm) {
  std::string text;
  if (comm.rank() == 0) {
    try {
      text = decide(runs, output);
    } catch (const Error& e) {
      text = std::string("!") + e.what();
    }
  }
  // Only rank 0 touches the file; its decision (or its error) reaches every rank.
  text = comm.all_gather_text(text).front();
  if (!text.empty() && text[0] == '!') fail(text.substr(1));
  if (text.size() != runs.size()) fail(output + ": sweep plan of " + std::to_string(text.size()) +
                                       " runs received for " + std::to_string(runs.size()) + " (ranks disagree on the sweep)");
  std::vector<RunPlan> plan;
  for (char c : text) plan.push_back(c == 's' ? RunPlan::skip : c == 'r' ? RunPlan::restart : RunPlan::fresh);
  return plan;
}

SweepOutcome run_sweep(const SweepSpec& spec, const std::vector<SweepRun>& runs, const std::string& output,
                       Communicator& comm, const TrainFn& train, std::FILE* out, int flush_every) {
  const bool root = comm.rank() == 0;
  const std::vector<RunPlan> plan = plan_sweep(runs, output, comm);
  SweepOutcome outcome;
  for (RunPlan p : plan) (p == RunPlan::skip ? outcome.skipped : outcome.ran) += 1;
  if (root && out) {
    std::fprintf(out, "sweep %s: %zu runs -> %s (%d finished earlier, %d to run)\n", spec.name.c_str(), runs.size(),
                 output.c_str(), outcome.skipped, outcome.ran);
    std::fflush(out);
  }
  if (root && outcome.ran > 0) write_sweep_info(output, spec.name, spec.file, spec.text);
  for (size_t i = 0; i < runs.size(); ++i) {
    if (root && out) {
      std::fprintf(out, "\nsweep %s [%zu/%zu] %s: %s\n", spec.name.c_str(), i + 1, runs.size(), runs[i].name.c_str(),
                   describe(plan[i]));
      std::fflush(out);
    }
    if (plan[i] == RunPlan::skip) continue;
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [key, value] : runs[i].point) labels[key] = value;
    Hdf5RunLog log(output, flush_every);
    log.set_labels(labels);
    log.set_sweep_index(static_cast<int>(i));
    train(runs[i].config, comm, root ? &log : nullptr);
  }
  return outcome;
}

}  // namespace qzo
