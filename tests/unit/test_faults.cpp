// Faults a run must survive or refuse cleanly (docs/faults.md): another run's outputs in the
// run directory, an unwritable log path, SIGTERM/SIGINT between steps, and a NaN loss under
// both method.nonfinite policies. Real trainer, default model, a few steps of batch 4.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/config/load.h"
#include "framework/core/error.h"
#include "framework/train/checkpoint.h"
#include "framework/train/stop_signals.h"
#include "framework/train/zo_trainer.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"
#include "tests/recording_log.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

Config tiny_run(const TempDir& dir, std::vector<std::string> overrides = {}) {
  const std::string root = QZO_SOURCE_DIR;
  std::vector<std::string> all = {"model.path=" + root + "/models/qzo-tiny",
                                  "optim.steps=5",
                                  "method.n_perturbations=1",
                                  "optim.batch_size=4",
                                  "task.n_train=8",
                                  "task.n_dev=0",
                                  "task.n_eval=4",
                                  "eval.zero_shot=false",
                                  "log.interval=1000",
                                  "log.name=tiny",
                                  "log.dir=" + dir.file("runs"),
                                  "threads=1"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config(root + "/configs/quickstart.yaml", train_schema(), all);
}

using testing::RecordingLog;

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(Faults, RunOfAnotherConfigInTheDirectoryIsRefusedNamingTheDirectoryAndKey) {
  TempDir dir;
  auto comm = make_local_communicator();
  run_training(tiny_run(dir, {"optim.steps=1"}), *comm);
  const std::string error = error_of([&] { run_training(tiny_run(dir, {"optim.steps=1", "optim.lr=1e-4"}), *comm); });
  EXPECT_EQ(error, dir.file("runs") + "/tiny holds a run of another config (optim.lr = 3.0e-05 there, 1.0e-04 here); "
                                      "pass --overwrite to replace it, or choose another log.name");
}

TEST(Faults, FinishedRunOfTheSameConfigIsRefusedUnlessOverwrite) {
  TempDir dir;
  auto comm = make_local_communicator();
  const nlohmann::json first = run_training(tiny_run(dir, {"optim.steps=1"}), *comm);
  EXPECT_EQ(error_of([&] { run_training(tiny_run(dir, {"optim.steps=1", "log.interval=7"}), *comm); }),
            dir.file("runs") + "/tiny already holds a finished run of this config; pass --overwrite to rerun it");
  RunOptions overwrite;
  overwrite.overwrite = true;
  EXPECT_EQ(run_training_with(overwrite, tiny_run(dir, {"optim.steps=1"}), *comm)["state_hash"], first["state_hash"]);
  const nlohmann::json other = run_training_with(overwrite, tiny_run(dir, {"optim.steps=1", "optim.lr=1e-4"}), *comm);
  EXPECT_NE(other["state_hash"], first["state_hash"]);
  RunOptions sweep;  // a sweep reruns what its log does not hold as finished
  sweep.rerun_finished = true;
  EXPECT_EQ(run_training_with(sweep, tiny_run(dir, {"optim.steps=1", "optim.lr=1e-4"}), *comm)["state_hash"],
            other["state_hash"]);
}

TEST(Faults, UnwritableLogDirFailsBeforeTheModelLoads) {
  TempDir dir;
  auto comm = make_local_communicator();
  // The model folder does not exist: the error is the log path's, so nothing was loaded.
  const std::string error = error_of([&] {
    run_training(tiny_run(dir, {"log.dir=/proc/forbidden", "model.path=" + dir.file("no-model")}), *comm);
  });
  EXPECT_EQ(error.rfind("/proc/forbidden: cannot create the directory: ", 0), 0u) << error;
  EXPECT_NE(error.find("log.dir"), std::string::npos) << error;
  EXPECT_NE(error.find("must be a writable directory with free space"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(Faults, FullFileSystemIsRefusedNamingTheDirectory) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  TempDir dir;
  fs::create_directories(dir.file("full"));
  // A directory whose probe file is /dev/full: every write fails with ENOSPC.
  fs::create_symlink("/dev/full", dir.file("full/.qzo-write-probe"));
  const std::string error = error_of([&] { require_writable_directory(dir.file("full"), "log.dir"); });
  EXPECT_EQ(error, dir.file("full") + ": cannot write in the directory: No space left on device "
                                      "(log.dir must be a writable directory with free space)");
}

TEST(Faults, SigtermCheckpointsTheStepAndTheRerunEndsBitIdentical) {
  TempDir dir;
  auto comm = make_local_communicator();
  const nlohmann::json straight = run_training(tiny_run(dir, {"log.name=straight"}), *comm);

  const StopSignals signals;
  RecordingLog log;
  {
    const ScopedEnv hook("QZO_TEST_SIGNAL_AFTER_STEP", "3");
    try {
      run_training(tiny_run(dir), *comm, &log);
      ADD_FAILURE() << "expected Interrupted";
    } catch (const Interrupted& e) {
      EXPECT_EQ(e.signal, SIGTERM);
      EXPECT_NE(std::string(e.what()).find("interrupted by SIGTERM after step 3/5"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(log.status, "interrupted");
  EXPECT_EQ(log.steps.size(), 3u);
  const auto checkpoint = load_checkpoint(dir.file("runs/tiny/checkpoint.safetensors"));
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(checkpoint->next_step, 3);

  const nlohmann::json resumed = run_training(tiny_run(dir), *comm);
  EXPECT_EQ(resumed["resumed_from_step"], 3);
  EXPECT_EQ(resumed["state_hash"], straight["state_hash"]);
  EXPECT_EQ(resumed["final"], straight["final"]);
}

TEST(Faults, SigintStopsWithTheSignalThatGivesExitStatus130) {
  TempDir dir;
  auto comm = make_local_communicator();
  const StopSignals signals;
  const ScopedEnv hook("QZO_TEST_SIGNAL_AFTER_STEP", "1"), which("QZO_TEST_SIGNAL", "INT");
  try {
    run_training(tiny_run(dir, {"optim.steps=3"}), *comm);
    ADD_FAILURE() << "expected Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(128 + e.signal, 130);
  }
  EXPECT_EQ(load_checkpoint(dir.file("runs/tiny/checkpoint.safetensors"))->next_step, 1);
}

TEST(Faults, NonfiniteLossUnderSkipSkipsThatStepAndLogsIt) {
  TempDir dir;
  auto comm = make_local_communicator();
  RecordingLog log;
  const ScopedEnv hook("QZO_TEST_NAN_AT_STEP", "2");
  const nlohmann::json summary = run_training(tiny_run(dir, {"method.nonfinite=skip"}), *comm, &log);
  EXPECT_EQ(log.status, "finished");
  EXPECT_EQ(summary["skipped_steps"], 1);
  ASSERT_EQ(log.steps.size(), 5u);
  for (const StepRecord& r : log.steps) EXPECT_EQ(r.skipped_steps, r.step >= 2 ? 1 : 0) << "step " << r.step;
  EXPECT_TRUE(std::isnan(log.steps[2].loss_plus));
}

TEST(Faults, NonfiniteLossUnderStopEndsTheRunNamingTheStep) {
  TempDir dir;
  auto comm = make_local_communicator();
  RecordingLog log;
  const ScopedEnv hook("QZO_TEST_NAN_AT_STEP", "2");
  const std::string error = error_of([&] { run_training(tiny_run(dir, {"method.nonfinite=stop"}), *comm, &log); });
  EXPECT_EQ(error.rfind("step 2: non-finite loss", 0), 0u) << error;
  EXPECT_EQ(log.status, "failed: " + error);
  EXPECT_EQ(log.steps.size(), 2u);  // steps 0 and 1; step 2 never updated nor logged
}

}  // namespace
}  // namespace qzo
