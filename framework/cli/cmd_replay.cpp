// `qzo replay LOG.h5 --run NAME --out DIR [--step N]`: the fine-tuned model of a logged ZO
// run rebuilt from its trajectory (train/replay.h), checked against the run's state hash.
#include <cstdio>

#include "framework/cli/commands.h"
#include "framework/core/error.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/train/progress.h"
#include "framework/train/replay.h"

namespace qzo::cli {

void add_replay_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("replay", "rebuild a ZO run's fine-tuned model from its logged trajectory");
  auto log_path = std::make_shared<std::string>();
  auto run_name = std::make_shared<std::string>();
  auto out_dir = std::make_shared<std::string>();
  auto step = std::make_shared<long>(-1);
  cmd->add_option("log", *log_path, "HDF5 run log (qzo sweep, or qzo train --log-h5)")->required();
  cmd->add_option("--run", *run_name, "the run's name in the log")->required();
  cmd->add_option("--out", *out_dir, "model folder to write (quantized for QZO)")->required();
  cmd->add_option("--step", *step, "replay the first N steps (default: the state the run kept, its best-dev step)");
  cmd->callback([=] {
    for (const LoggedRun& run : read_run_log(*log_path)) {
      if (run.info.name != *run_name) continue;
      const ReplayResult r = replay_run(run, *out_dir, *step);
      char hash[17];
      std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(r.state_hash));
      const std::string logged = run.summary.value("state_hash", std::string());
      const bool kept_state = *step < 0 && run.finished();
      std::printf("replay: %s | %ld steps (%ld skipped) from %s of trajectory | state %s%s\nwrote %s\n",
                  run_name->c_str(), r.steps, r.skipped, format_bytes(double(r.trajectory_bytes)).c_str(), hash,
                  !kept_state || logged.empty() ? ""
                  : logged == hash            ? " = the run's state hash"
                                              : (" != the run's state hash " + logged).c_str(),
                  out_dir->c_str());
      if (kept_state && !logged.empty() && logged != hash)
        fail("replay of " + *run_name + " in " + *log_path + " does not reproduce its state hash");
      return;
    }
    fail(*log_path + ": no run named '" + *run_name + "'");
  });
}

}  // namespace qzo::cli
