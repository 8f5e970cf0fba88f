// What a run may do with its output directory (runs/<name>: summary.json, the checkpoint):
// check before any weight loads that it is writable, and never silently replace another
// run's results there (docs/faults.md).
#pragma once
#include <string>

#include "framework/config/config.h"

namespace qzo {

// What a run does when its directory already holds outputs.
struct RunOptions {
  // Replace a finished run, or a run (finished or not) of another config (`--overwrite`).
  bool overwrite = false;
  // A finished run of the same config is run again: the sweep runner decides that from
  // its HDF5 log (`qzo sweep` sets this), `qzo train` refuses it unless overwrite.
  bool rerun_finished = false;
};

// Creates `dir` and writes, fsyncs and removes a small file in it; throws one line naming
// the directory and the system's reason (read-only, no space, not a directory) otherwise.
// `what` says what the directory is for ("log.dir", "the --log-h5 folder").
void require_writable_directory(const std::string& dir, const std::string& what);

// What the directory holds, decided against this run's resolved config.
enum class ExistingRun { none, resumable, replace };

// Throws one line when `run_dir` holds a run this one must not replace:
//   "runs/X holds a run of another config (optim.lr = 3.0e-05 there, 1.0e-04 here); ..."
//   "runs/X already holds a finished run of this config; pass --overwrite to rerun it"
// Otherwise says whether its checkpoint resumes (same config, unfinished, log.resume) or
// the directory's outputs are to be replaced (then they are removed here).
ExistingRun claim_run_directory(const std::string& run_dir, const Config& config, const RunOptions& options);

}  // namespace qzo
