// Signals under data parallelism (docs/faults.md): SIGTERM reaching only the last rank still
// stops every rank after the same step, with one checkpoint, and the rerun ends bit-identical
// to the uninterrupted run. (A SIGKILLed rank is tested from outside: kill_rank_test.sh.)
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "framework/config/load.h"
#include "framework/train/checkpoint.h"
#include "framework/train/stop_signals.h"
#include "framework/train/zo_trainer.h"
#include "tests/mpi/world.h"

namespace qzo {
namespace {

using testing_mpi::world;

Config faults_run(const std::string& name) {
  const std::string root = QZO_SOURCE_DIR;
  return load_config(root + "/configs/quickstart.yaml", train_schema(),
                     {"model.path=" + root + "/models/qzo-tiny", "optim.steps=6", "method.n_perturbations=1",
                      "optim.batch_size=7", "task.n_train=64", "task.n_dev=0", "task.n_eval=8",
                      "eval.zero_shot=false", "log.interval=1000", "threads=1", "log.name=" + name,
                      "log.dir=" + ::testing::TempDir() + "qzo-mpi-faults" + std::to_string(world().size())});
}

TEST(Interrupt, SigtermOnOneRankStopsEveryRankAtTheSameStepAndTheRerunMatches) {
  RunOptions replace;  // the directories are reused from one ctest run to the next
  replace.overwrite = true;
  const nlohmann::json straight = run_training_with(replace, faults_run("straight"), world());

  const Config interrupted = faults_run("interrupted");
  {
    const StopSignals signals;
    setenv("QZO_TEST_SIGNAL_AFTER_STEP", "2", 1);
    setenv("QZO_TEST_SIGNAL_RANK", std::to_string(world().size() - 1).c_str(), 1);
    int signal = 0;
    try {
      run_training_with(replace, interrupted, world());
    } catch (const Interrupted& e) {
      signal = e.signal;
    }
    unsetenv("QZO_TEST_SIGNAL_AFTER_STEP");
    unsetenv("QZO_TEST_SIGNAL_RANK");
    EXPECT_EQ(signal, SIGTERM) << "rank " << world().rank() << " did not stop";
  }
  if (world().rank() == 0) {
    const auto checkpoint = load_checkpoint(interrupted.get<std::string>("log.dir") + "/interrupted/checkpoint.safetensors");
    ASSERT_TRUE(checkpoint.has_value());
    EXPECT_EQ(checkpoint->next_step, 2);
  }
  const nlohmann::json resumed = run_training(interrupted, world());
  EXPECT_EQ(resumed["resumed_from_step"], 2);
  EXPECT_EQ(resumed["state_hash"], straight["state_hash"]);
}

}  // namespace
}  // namespace qzo
