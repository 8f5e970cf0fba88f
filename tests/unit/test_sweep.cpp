// Specification of sweeps: grid axes multiply and zip groups advance together, bad keys and
// values are rejected naming the file, line and key, and running a sweep again skips the runs
// its log holds as finished and reruns the unfinished ones.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "framework/core/error.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/sweep/sweep_runner.h"
#include "framework/sweep/sweep_spec.h"
#include "framework/train/zo_trainer.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

// Every sweep below starts from this run config.
class ScratchDir : public TempDir {
 public:
  ScratchDir() : TempDir("qzo_sweep") {
    write("base.yaml", "model:\n  path: models/qzo-tiny\noptim:\n  steps: 20\nlog:\n  dir: " + file("runs") + "\n");
  }
  // A sweep over `seeds` ("0, 1, 2") logging to out().
  SweepSpec seed_sweep(const std::string& seeds) const {
    return load_sweep(write("s.yaml", "base: base.yaml\ngrid:\n  seed: [" + seeds + "]\n"), train_schema());
  }
  std::string out() const { return file("s.h5"); }
};

std::vector<SweepRun> expand(const std::string& path, const std::vector<std::string>& overrides = {}) {
  return expand_sweep(load_sweep(path, train_schema()), train_schema(), overrides);
}

TEST(Sweep, GridAxesMultiplyAndZipKeysAdvanceTogether) {
  ScratchDir dir;
  const std::string path = dir.write("s.yaml",
                                     "base: base.yaml\n"
                                     "set:\n  optim.lr: 3.0e-5\n"
                                     "zip:\n  method.name: [qzo, mezo]\n  quant.method: [rtn, none]\n"
                                     "grid:\n  method.clip_threshold: [none, 25]\n  seed: [0, 1, 2]\n");
  const auto runs = expand(path);
  ASSERT_EQ(runs.size(), 2u * 2u * 3u);
  EXPECT_EQ(runs[0].name, "method.name=qzo,quant.method=rtn,method.clip_threshold=none,seed=0");
  EXPECT_EQ(runs[1].name, "method.name=qzo,quant.method=rtn,method.clip_threshold=none,seed=1");
  EXPECT_EQ(runs[3].name, "method.name=qzo,quant.method=rtn,method.clip_threshold=25,seed=0");
  EXPECT_EQ(runs[6].name, "method.name=mezo,quant.method=none,method.clip_threshold=none,seed=0");
  for (const SweepRun& run : runs) {
    const bool qzo = run.config.get<std::string>("method.name") == "qzo";
    EXPECT_EQ(run.config.get<std::string>("quant.method"), qzo ? "rtn" : "none") << run.name;
    EXPECT_EQ(run.config.get<double>("optim.lr"), 3e-5);
    EXPECT_EQ(run.config.get<int>("optim.steps"), 20);  // from the base
    EXPECT_EQ(run.config.get<std::string>("log.name"), run.name);
    EXPECT_EQ(run.config.get<std::string>("log.dir"), dir.file("runs") + "/s");
  }
  EXPECT_EQ(runs[4].config.get_optional_double("method.clip_threshold"), std::optional<double>(25.0));
  EXPECT_EQ(runs[4].config.get<int64_t>("seed"), 1);
  EXPECT_FALSE(runs[0].config.get_optional_double("method.clip_threshold").has_value());
  EXPECT_EQ(runs[11].point, (std::vector<std::pair<std::string, std::string>>{
                                {"method.name", "mezo"}, {"quant.method", "none"},
                                {"method.clip_threshold", "25"}, {"seed", "2"}}));
}

TEST(Sweep, SeveralZipGroupsAreSeparateAxesAndOverridesApplyLast) {
  ScratchDir dir;
  const std::string path = dir.write("s.yaml",
                                     "name: pairs\nbase: base.yaml\n"
                                     "zip:\n  - {quant.bits: [2, 8], quant.group_size: [32, 0]}\n"
                                     "  - {seed: [5, 6]}\n");
  const auto runs = expand(path, {"optim.steps=3"});
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[2].name, "quant.bits=8,quant.group_size=0,seed=5");
  EXPECT_EQ(runs[2].config.get<int>("quant.group_size"), 0);
  EXPECT_EQ(runs[3].config.get<int>("optim.steps"), 3);
  EXPECT_EQ(runs[3].config.get<std::string>("log.dir"), dir.file("runs") + "/pairs");
}

TEST(Sweep, UnknownKeyIsRejectedNamingFileLineAndKey) {
  ScratchDir dir;
  const std::string path = dir.write("s.yaml", "base: base.yaml\ngrid:\n  seed: [0, 1]\n  optim.lrr: [1.0e-5]\n");
  EXPECT_EQ(error_of([&] { expand(path); }),
            path + ":4: unknown key 'optim.lrr' in grid (did you mean 'optim.lr'?)");
  const std::string zip = dir.write("z.yaml", "base: base.yaml\nzip:\n  method.nam: [qzo]\n");
  EXPECT_EQ(error_of([&] { expand(zip); }), zip + ":3: unknown key 'method.nam' in zip (did you mean 'method.name'?)");
  const std::string section = dir.write("c.yaml", "base: base.yaml\nset:\n  optim: 3\n");
  EXPECT_NE(error_of([&] { expand(section); }).find(section + ":3: 'optim' in set is a section"), std::string::npos);
}

TEST(Sweep, BadValueIsRejectedNamingTheKeyBeforeAnythingRuns) {
  ScratchDir dir;
  const std::string path = dir.write("s.yaml", "base: base.yaml\ngrid:\n  optim.steps: [10, ten]\n");
  const std::string message = error_of([&] { load_sweep(path, train_schema()); });
  EXPECT_NE(message.find(path + ":3"), std::string::npos) << message;
  EXPECT_NE(message.find("'optim.steps'"), std::string::npos) << message;
}

TEST(Sweep, MalformedSweepsAreRejectedWithOneLine) {
  ScratchDir dir;
  const std::string top = dir.write("t.yaml", "base: base.yaml\ngird:\n  seed: [0]\n");
  EXPECT_EQ(error_of([&] { load_sweep(top, train_schema()); }), top + ":2: unknown sweep key 'gird' (did you mean 'grid'?)");
  const std::string uneven = dir.write("u.yaml", "base: base.yaml\nzip:\n  seed: [0, 1]\n  optim.lr: [1.0e-5]\n");
  EXPECT_EQ(error_of([&] { load_sweep(uneven, train_schema()); }),
            uneven + ":4: zip key 'optim.lr' has 1 values but 'seed' has 2");
  const std::string twice = dir.write("d.yaml", "base: base.yaml\nset:\n  seed: 1\ngrid:\n  seed: [0, 1]\n");
  EXPECT_EQ(error_of([&] { load_sweep(twice, train_schema()); }), twice + ":5: key 'seed' in grid is already given in set");
  const std::string named = dir.write("n.yaml", "base: base.yaml\ngrid:\n  log.name: [a, b]\n");
  EXPECT_NE(error_of([&] { load_sweep(named, train_schema()); }).find(":3: key 'log.name' cannot be swept"),
            std::string::npos);
  const std::string no_base = dir.write("b.yaml", "grid:\n  seed: [0]\n");
  EXPECT_EQ(error_of([&] { load_sweep(no_base, train_schema()); }),
            no_base + ": missing 'base' (the run config every run starts from)");
  const std::string empty_axis = dir.write("e.yaml", "base: base.yaml\ngrid:\n  seed: []\n");
  EXPECT_EQ(error_of([&] { load_sweep(empty_axis, train_schema()); }),
            empty_axis + ":3: grid key 'seed' needs a non-empty list of values");
}

// Stands in for run_training: logs a few steps and a summary, and fails on the run named in
// `fail_on` (as a crash would leave it: begun, never finished).
struct FakeTraining {
  std::vector<std::string> ran;
  std::string fail_on;
  std::string killed_at_finish;  // this run's process is SIGKILLed midway through its log's finish
  bool as_older_schema = false;  // log the config as a build without the key `threads` would

  nlohmann::json operator()(const Config& config, Communicator&, RunLog* log) {
    const std::string name = config.get<std::string>("log.name");
    ran.push_back(name);
    RunInfo info;
    info.name = name;
    info.config_yaml = config.to_yaml();
    info.config_hash = config.hash();
    if (as_older_schema) {
      const size_t at = info.config_yaml.find("threads: 0\n");
      EXPECT_NE(at, std::string::npos);
      info.config_yaml.erase(at, std::string("threads: 0\n").size());
      info.config_hash += 1;
    }
    info.method = config.get<std::string>("method.name");
    info.quantizer = "rtn4-g32";
    info.task = "spam";
    info.metric = "accuracy";
    info.seed = static_cast<uint64_t>(config.get<int64_t>("seed"));
    log->begin(info);
    for (int i = 0; i < 3; ++i) log->step({i, 0, 1.0, 0.5, 250.0, 250.0, false, 1e-5, 100, 0.1 * i, 0});
    if (name == fail_on) throw Error("simulated crash in " + name);
    if (name == killed_at_finish) setenv("QZO_TEST_KILL_AT", "finish", 1);
    const nlohmann::json summary = {{"final", 0.5 + 0.1 * static_cast<double>(info.seed)}, {"steps", 3}};
    log->finish(summary, "finished");
    return summary;
  }
};

SweepOutcome run(const SweepSpec& spec, const std::vector<SweepRun>& runs, const std::string& out, FakeTraining& fake) {
  auto comm = make_local_communicator();
  return run_sweep(spec, runs, out, *comm, std::ref(fake), nullptr);
}

TEST(Sweep, RerunSkipsFinishedRunsAndRestartsUnfinishedOnes) {
  ScratchDir dir;
  const SweepSpec spec = dir.seed_sweep("0, 1, 2, 3");
  const auto runs = expand_sweep(spec, train_schema());
  const std::string out = dir.out();

  FakeTraining first;
  first.fail_on = "seed=2";
  EXPECT_THROW(run(spec, runs, out, first), Error);
  EXPECT_EQ(first.ran, (std::vector<std::string>{"seed=0", "seed=1", "seed=2"}));

  FakeTraining second;
  const SweepOutcome outcome = run(spec, runs, out, second);
  EXPECT_EQ(second.ran, (std::vector<std::string>{"seed=2", "seed=3"}));
  EXPECT_EQ(outcome.skipped, 2);
  EXPECT_EQ(outcome.ran, 2);

  const auto logged = read_run_log(out);
  ASSERT_EQ(logged.size(), 4u);
  for (const LoggedRun& r : logged) {
    EXPECT_TRUE(r.finished()) << r.info.name;
    EXPECT_EQ(r.steps.size(), 3u) << r.info.name;  // the crashed attempt's rows are gone
    EXPECT_EQ(r.labels["seed"], std::to_string(r.info.seed));
  }

  FakeTraining third;
  EXPECT_EQ(run(spec, runs, out, third).ran, 0);
  EXPECT_TRUE(third.ran.empty());
}

// A sweep process SIGKILLed while the log writes the finish of its second run: the rerun
// skips the first run, reruns the second and runs the third, and every run ends finished.
TEST(Sweep, ASweepKilledWhileARunFinishesIsCompletedByTheRerun) {
  ScratchDir dir;
  const SweepSpec spec = dir.seed_sweep("0, 1, 2");
  const auto runs = expand_sweep(spec, train_schema());
  const std::string out = dir.out();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    FakeTraining killed;
    killed.killed_at_finish = "seed=1";
    try {
      run(spec, runs, out, killed);
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  const auto after_kill = read_run_log(out);
  ASSERT_EQ(after_kill.size(), 2u);
  EXPECT_TRUE(after_kill[0].finished());
  EXPECT_EQ(after_kill[1].status, "running");
  EXPECT_EQ(after_kill[1].steps.size(), 3u);  // its rows survive the kill

  FakeTraining rerun;
  const SweepOutcome outcome = run(spec, runs, out, rerun);
  EXPECT_EQ(rerun.ran, (std::vector<std::string>{"seed=1", "seed=2"}));
  EXPECT_EQ(outcome.skipped, 1);
  const auto logged = read_run_log(out);
  ASSERT_EQ(logged.size(), 3u);
  for (const LoggedRun& r : logged) {
    EXPECT_TRUE(r.finished()) << r.info.name;
    EXPECT_EQ(r.steps.size(), 3u) << r.info.name;
  }
}

TEST(Sweep, FinishedRunWithAnotherConfigIsAnErrorNamingTheKey) {
  ScratchDir dir;
  const SweepSpec spec = dir.seed_sweep("0");
  const std::string out = dir.out();
  FakeTraining fake;
  run(spec, expand_sweep(spec, train_schema(), {"optim.steps=5"}), out, fake);
  const std::string message = error_of([&] { run(spec, expand_sweep(spec, train_schema(), {"optim.steps=6"}), out, fake); });
  EXPECT_EQ(message, out + ": run 'seed=0' finished earlier with another config (optim.steps: 5 in the file, 6 now); "
                           "write to another output or delete the file");
  EXPECT_EQ(fake.ran.size(), 1u);
}

TEST(Sweep, RunLoggedBeforeTheSchemaGainedAKeyIsStillFinished) {
  ScratchDir dir;
  const SweepSpec spec = dir.seed_sweep("0");
  FakeTraining older;
  older.as_older_schema = true;
  run(spec, expand_sweep(spec, train_schema()), dir.out(), older);
  FakeTraining now;
  EXPECT_EQ(run(spec, expand_sweep(spec, train_schema()), dir.out(), now).skipped, 1);
  EXPECT_TRUE(now.ran.empty());
}

// A run config for the real trainer on the default model: `steps` steps of batch 4, n = 1.
void write_tiny_config(const ScratchDir& dir, int steps) {
  const std::string model = std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny";
  dir.write("tiny.yaml", "model:\n  path: " + model + "\nmethod:\n  n_perturbations: 1\noptim:\n  steps: " +
                             std::to_string(steps) + "\n  batch_size: 4\n"
                             "task:\n  n_train: 8\n  n_dev: 4\n  n_eval: 8\neval:\n  interval: 1\n"
                             "log:\n  dir: " + dir.file("runs") + "\n  interval: 1\n  checkpoint_interval: 2\n");
}

// The real trainer on the default model, two steps: its provenance, steps, evaluations and
// summary land in the sweep's log under the run's name.
TEST(Sweep, TrainingRunsLandInTheLogWithStepsEvalsAndSummary) {
  ScratchDir dir;
  write_tiny_config(dir, 2);
  const SweepSpec spec = load_sweep(dir.write("s.yaml", "base: tiny.yaml\ngrid:\n  method.clip_threshold: [5]\n  seed: [0]\n"),
                                    train_schema());
  const std::string out = dir.out();
  auto comm = make_local_communicator();
  run_sweep(spec, expand_sweep(spec, train_schema()), out, *comm, run_training, nullptr);

  const auto logged = read_run_log(out);
  ASSERT_EQ(logged.size(), 1u);
  for (const LoggedRun& r : logged) {
    EXPECT_TRUE(r.finished()) << r.status;
    EXPECT_EQ(r.info.method, "qzo");
    EXPECT_EQ(r.info.quantizer, "rtn4-g32");
    EXPECT_EQ(r.info.task, "spam");
    EXPECT_EQ(r.info.backend, "local");
    EXPECT_EQ(r.steps.size(), 2u);
    EXPECT_EQ(r.steps.step, (std::vector<int64_t>{0, 1}));
    ASSERT_FALSE(r.evals.empty());
    EXPECT_EQ(r.evals.back().split, "eval");
    EXPECT_EQ(r.evals.back().value, r.summary["final"].get<double>());
    EXPECT_EQ(r.summary["steps"], 2);
    EXPECT_EQ(r.info.name, "method.clip_threshold=5,seed=0");
    EXPECT_TRUE(fs::exists(dir.file("runs/s/" + r.info.name + "/summary.json")));
    for (size_t i = 0; i < r.steps.size(); ++i) {
      EXPECT_LE(std::fabs(r.steps.proj_grad_clipped[i]), 5.0);
      EXPECT_EQ(r.steps.clipped[i], r.steps.proj_grad_raw[i] != r.steps.proj_grad_clipped[i] ? 1 : 0);
    }
  }
}

// A run that crashes after its checkpoint at step 4 is resumed by the rerun of the sweep: it
// ends with every step logged once, its rows before the checkpoint kept from the first attempt.
TEST(Sweep, RerunResumesACrashedRunFromItsCheckpointAndContinuesItsLog) {
  ScratchDir dir;
  write_tiny_config(dir, 6);
  const SweepSpec spec = load_sweep(dir.write("s.yaml", "base: tiny.yaml\ngrid:\n  seed: [0]\n"), train_schema());
  const auto runs = expand_sweep(spec, train_schema());
  auto comm = make_local_communicator();
  setenv("QZO_TEST_FAIL_AFTER_STEP", "5", 1);
  EXPECT_THROW(run_sweep(spec, runs, dir.out(), *comm, run_training, nullptr), Error);
  unsetenv("QZO_TEST_FAIL_AFTER_STEP");
  const auto crashed = read_run_log(dir.out());
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0].steps.size(), 5u);
  EXPECT_FALSE(crashed[0].finished());
  const double step1_loss = crashed[0].steps.loss_plus[1];

  run_sweep(spec, runs, dir.out(), *comm, run_training, nullptr);
  const auto logged = read_run_log(dir.out());
  ASSERT_EQ(logged.size(), 1u);
  const LoggedRun& run = logged[0];
  EXPECT_TRUE(run.finished()) << run.status;
  EXPECT_EQ(run.info.resume_step, 4);
  EXPECT_EQ(run.summary["resumed_from_step"], 4);
  EXPECT_EQ(run.steps.step, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(run.steps.loss_plus[1], step1_loss);
}

}  // namespace
}  // namespace qzo
