// Trajectory replay: a finished run's log rebuilds the state the run kept, bit for bit, and the
// model folder it writes loads back to that state.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "framework/config/load.h"
#include "framework/core/error.h"
#include "framework/dist/communicator.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/log/hdf5_run_log.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/replay.h"
#include "framework/train/zo_trainer.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

std::string scratch(const std::string& what) {
  const std::string dir = ::testing::TempDir() + "/qzo-replay-" + std::to_string(::getpid()) + "-" + what;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The real trainer on the default model: 6 steps of batch 4, dev evaluations every 2 steps.
LoggedRun trained_run(const std::string& dir, const std::vector<std::string>& overrides) {
  const std::string model = std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny";
  std::vector<std::string> sets = {"model.path=" + model, "optim.steps=6", "optim.batch_size=4", "optim.lr=1e-4",
                                   "task.n_train=8", "task.n_dev=4", "task.n_eval=8", "eval.interval=2",
                                   "log.dir=" + dir + "/runs", "log.interval=1", "threads=1"};
  sets.insert(sets.end(), overrides.begin(), overrides.end());
  const Config cfg = load_config_text("{}", "replay test", train_schema(), sets);
  auto comm = make_local_communicator();
  const std::string log_path = dir + "/log.h5";
  {
    Hdf5RunLog log(log_path);
    run_training(cfg, *comm, &log);
  }
  const auto runs = read_run_log(log_path);
  EXPECT_EQ(runs.size(), 1u);
  return runs.front();
}

std::string hex(uint64_t h) {
  char s[17];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(h));
  return s;
}

// Without a dev set the run keeps its last state, so the replay covers every step.
TEST(Replay, QzoRunsLogRebuildsTheKeptScalesBitForBit) {
  const std::string dir = scratch("qzo");
  const LoggedRun run = trained_run(dir, {"method.n_perturbations=2", "task.n_dev=0"});
  ASSERT_TRUE(run.finished()) << run.status;
  const ReplayResult r = replay_run(run, dir + "/replayed");
  EXPECT_EQ(r.steps, 6);
  EXPECT_EQ(hex(r.state_hash), run.summary["state_hash"].get<std::string>());
  EXPECT_EQ(r.trajectory_bytes, size_t(r.steps) * 2 * 16);

  QuantizedModel back = QuantizedModel::load(dir + "/replayed");
  EXPECT_EQ(hex(QzoParameters(back, 1e-7f).state_hash()), run.summary["state_hash"].get<std::string>());
  EXPECT_TRUE(fs::exists(dir + "/replayed/tokenizer.json"));
}

TEST(Replay, MezoRunsLogRebuildsTheKeptWeightsBitForBit) {
  const std::string dir = scratch("mezo");
  const LoggedRun run = trained_run(
      dir, {"method.name=mezo", "quant.method=none", "method.weight_decay=0.01", "task.n_dev=0"});
  ASSERT_TRUE(run.finished()) << run.status;
  const ReplayResult r = replay_run(run, dir + "/replayed");
  EXPECT_EQ(r.steps, 6);
  EXPECT_EQ(hex(r.state_hash), run.summary["state_hash"].get<std::string>());
  Model back = Model::load(dir + "/replayed");
  EXPECT_EQ(hex(MezoParameters(back).state_hash()), run.summary["state_hash"].get<std::string>());
}

// With dev evaluations the run keeps its best-dev state: the replay stops at that step.
TEST(Replay, ARunSelectedOnDevReplaysToItsBestStep) {
  const std::string dir = scratch("dev");
  const LoggedRun run = trained_run(dir, {});
  ASSERT_TRUE(run.finished()) << run.status;
  const ReplayResult r = replay_run(run, dir + "/replayed");
  EXPECT_EQ(r.steps, run.summary["best_step"].get<long>());
  EXPECT_EQ(hex(r.state_hash), run.summary["state_hash"].get<std::string>());
}

TEST(Replay, AskingForMoreStepsThanLoggedIsOneLineNamingTheRun) {
  const std::string dir = scratch("short");
  const LoggedRun run = trained_run(dir, {"optim.steps=2", "eval.interval=0"});
  try {
    replay_run(run, dir + "/replayed", 50);
    FAIL() << "replayed steps that were never logged";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("run '" + run.info.name + "': 50 steps asked, 2 logged"), std::string::npos) << msg;
  }
}

TEST(Replay, SignSgdRunsLogRebuildsTheKeptScalesBitForBit) {
  const std::string dir = scratch("signsgd");
  const LoggedRun run = trained_run(dir, {"method.update=signsgd", "optim.lr=3e-4", "task.n_dev=0"});
  ASSERT_TRUE(run.finished()) << run.status;
  const ReplayResult r = replay_run(run, dir + "/replayed");
  EXPECT_EQ(hex(r.state_hash), run.summary["state_hash"].get<std::string>());
  // The same trajectory under ZO-SGD ends elsewhere: the update rule is replayed, not assumed.
  const LoggedRun sgd = trained_run(scratch("signsgd-vs-sgd"), {"optim.lr=3e-4", "task.n_dev=0"});
  EXPECT_NE(sgd.summary["state_hash"], run.summary["state_hash"]);
}

// eval.split dev: the final and zero-shot scores are dev scores and no eval row is logged.
TEST(ScoredSplit, DevSplitNeverScoresTheEvalExamples) {
  const std::string dir = scratch("dev-split");
  const LoggedRun run = trained_run(dir, {"method.name=zeroshot", "eval.split=dev"});
  ASSERT_TRUE(run.finished()) << run.status;
  EXPECT_EQ(run.summary["final_split"], "dev");
  EXPECT_EQ(run.summary["eval_examples"], 4);  // n_dev, not n_eval (8)
  for (const EvalRecord& e : run.evals) EXPECT_NE(e.split, "eval") << "step " << e.step;
}

TEST(ScoredSplit, EvalCurveIsLoggedAtEveryDevIntervalAndSelectsNothing) {
  const std::string dir = scratch("curve");
  const LoggedRun with = trained_run(dir, {"eval.curve=true"});
  const LoggedRun without = trained_run(scratch("no-curve"), {});
  std::vector<int64_t> curve_steps;
  for (const EvalRecord& e : with.evals)
    if (e.split == "eval_curve") curve_steps.push_back(e.step);
  EXPECT_EQ(curve_steps, (std::vector<int64_t>{0, 2, 4, 6}));
  EXPECT_EQ(with.summary["state_hash"], without.summary["state_hash"]);
  EXPECT_EQ(with.summary["best_step"], without.summary["best_step"]);
}

TEST(ScoredSplit, EvalCurveWithDevSplitIsOneLineNamingTheKey) {
  const Config cfg = load_config_text("{}", "t", train_schema(),
                                      {"model.path=" + std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny",
                                       "eval.split=dev", "eval.curve=true", "optim.steps=1", "task.n_train=4",
                                       "task.n_dev=4", "task.n_eval=4", "log.dir=" + scratch("bad") + "/runs"});
  auto comm = make_local_communicator();
  try {
    run_training(cfg, *comm, nullptr);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("eval.curve"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qzo
