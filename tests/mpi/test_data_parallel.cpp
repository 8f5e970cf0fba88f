// Data-parallel invariants (DESIGN.md §2), run under mpirun with 2 and 3 ranks: replicas
// stay bit-identical, P ranks follow one rank on the same global batch, shards cover each
// batch exactly once, a resumed run continues exactly as the uninterrupted one, and a
// corrupted replica or a mismatched config is caught by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>

#include "framework/config/load.h"
#include "framework/core/error.h"
#include "framework/dist/agreement.h"
#include "framework/dist/sharding.h"
#include "framework/train/zo_trainer.h"
#include "tests/mpi/world.h"
#include "tests/support/error_of.h"
#include "tests/recording_log.h"

namespace qzo {
namespace {

using testing_mpi::world;

// A short QZO run on the int4 default model and the spam task.
Config short_run(std::vector<std::string> overrides = {}) {
  const std::string root = QZO_SOURCE_DIR;
  std::vector<std::string> all = {"model.path=" + root + "/models/qzo-tiny",
                                  "optim.steps=6",
                                  "method.n_perturbations=1",
                                  "optim.batch_size=7",  // uneven shards over 2 and 3 ranks
                                  "task.n_train=64",
                                  "task.n_dev=0",
                                  "task.n_eval=24",
                                  "eval.zero_shot=false",
                                  "dist.guard_interval=2",
                                  "log.interval=1000",
                                  "log.dir=" + ::testing::TempDir() + "qzo-mpi-runs",
                                  "threads=1"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config(root + "/configs/quickstart.yaml", train_schema(), all);
}

using testing::RecordingLog;

// The tests reuse their run directories from one ctest run to the next: each run replaces
// what the last one left there (qzo train --overwrite).
nlohmann::json train(const Config& cfg, Communicator& comm, RunLog* log = nullptr) {
  RunOptions options;
  options.overwrite = true;
  return run_training_with(options, cfg, comm, log);
}

bool all_equal(const std::vector<std::string>& v) {
  for (const std::string& s : v)
    if (s != v[0]) return false;
  return true;
}

TEST(DataParallel, ReplicasAreBitIdenticalAfterTraining) {
  const nlohmann::json summary = train(short_run({"optim.steps=10"}), world());
  EXPECT_EQ(summary["world_size"], world().size());
  EXPECT_GE(summary["replica_checks"].get<int>(), 5);  // every 2 steps and at the end
  const auto hashes = world().all_gather_text(summary["state_hash"].get<std::string>());
  EXPECT_TRUE(all_equal(hashes)) << hashes[0] << " vs " << hashes.back();
}

// Each rank calibrates and quantizes on its own: GPTQ (act-order) and the codebook give every
// rank the same model, and the multiplicative update keeps the replicas bit-identical.
TEST(DataParallel, CalibratedQuantizersAndMultiplicativeUpdatesKeepReplicasBitIdentical) {
  const std::vector<std::vector<std::string>> quantizers = {
      {"quant.method=gptq", "quant.bits=3", "quant.group_size=64", "quant.desc_act=true"},
      {"quant.method=codebook", "quant.bits=2"}};
  for (std::vector<std::string> overrides : quantizers) {
    SCOPED_TRACE(overrides[0]);
    overrides.insert(overrides.end(), {"quant.calibration_samples=16", "method.perturbation=multiplicative",
                                       "method.eps=0.06", "optim.lr=0.11", "method.clip_threshold=1.6"});
    const nlohmann::json summary = train(short_run(overrides), world());
    const auto hashes = world().all_gather_text(summary["state_hash"].get<std::string>());
    EXPECT_TRUE(all_equal(hashes)) << hashes[0] << " vs " << hashes.back();
  }
}

TEST(DataParallel, FollowsOneRankOnTheSameGlobalBatch) {
  RecordingLog parallel, single;
  const nlohmann::json p = train(short_run(), world(), &parallel);
  if (world().rank() == 0) {
    auto local = make_local_communicator();
    const nlohmann::json s = train(short_run(), *local, &single);
    ASSERT_EQ(parallel.steps.size(), single.steps.size());
    for (size_t i = 0; i < single.steps.size(); ++i) {
      const StepRecord &a = parallel.steps[i], &b = single.steps[i];
      // The same examples, summed in another order: fp32 reduction tolerance.
      EXPECT_NEAR(a.loss_plus, b.loss_plus, 1e-5 * std::abs(b.loss_plus)) << "step " << i;
      EXPECT_NEAR(a.loss_minus, b.loss_minus, 1e-5 * std::abs(b.loss_minus)) << "step " << i;
      EXPECT_NEAR(a.proj_grad_raw, b.proj_grad_raw, 1e-2 + 1e-3 * std::abs(b.proj_grad_raw)) << "step " << i;
      EXPECT_EQ(a.tokens, b.tokens) << "step " << i;  // no example skipped or read twice
    }
    EXPECT_DOUBLE_EQ(p["final"].get<double>(), s["final"].get<double>());
    EXPECT_EQ(parallel.status, "finished");
  }
  world().all_gather(0);  // the other ranks wait for rank 0's single-rank run
}

TEST(DataParallel, ShardsCoverEveryExampleOfEachBatchOnce) {
  BatchSampler sampler(30, 7, 11);
  for (int64_t step = 0; step < 20; ++step) {
    std::string mine;
    for (size_t i : sampler.shard(step, world().rank(), world().size())) mine += std::to_string(i) + ",";
    std::string joined;
    for (const std::string& s : world().all_gather_text(mine)) joined += s;
    std::string expected;
    for (size_t i : sampler.global_batch(step)) expected += std::to_string(i) + ",";
    EXPECT_EQ(joined, expected) << "step " << step;
  }
}

TEST(DataParallel, CorruptedReplicaIsDetectedNamingTheRank) {
  const int victim = world().size() - 1;
  setenv("QZO_TEST_CORRUPT_RANK", std::to_string(victim).c_str(), 1);
  RecordingLog log;
  const std::string error = error_of([&] { train(short_run(), world(), &log); });
  unsetenv("QZO_TEST_CORRUPT_RANK");
  EXPECT_NE(error.find("replica guard at step 2"), std::string::npos) << error;
  EXPECT_NE(error.find("rank " + std::to_string(victim) + " differs from rank 0"), std::string::npos) << error;
  if (world().rank() == 0) {
    EXPECT_EQ(log.status.rfind("failed: replica guard", 0), 0u) << log.status;
  }
}

TEST(DataParallel, MismatchedConfigIsRejectedNamingTheKey) {
  const Config cfg = short_run({"seed=" + std::to_string(world().rank() == 0 ? 0 : 5)});
  const std::string error = error_of([&] { train(cfg, world()); });
  EXPECT_NE(error.find("config: ranks disagree on 'seed' (rank 0: 0 vs rank"), std::string::npos) << error;
}

TEST(Communicator, BroadcastHandsEveryRankTheRootsText) {
  const int root = world().size() - 1;
  const std::string mine = world().rank() == root ? std::string("id\0from root", 12) : std::string();
  EXPECT_EQ(world().broadcast_text(mine, root), std::string("id\0from root", 12));
  EXPECT_EQ(world().broadcast_text(world().rank() == 0 ? "" : "ignored", 0), "");
}

TEST(DataParallel, MismatchedModelFileIsRejectedNamingTheFile) {
  std::vector<AgreementItem> items = {{"models/a/config.json", 1, ""}, {"models/a/model.safetensors", 2, ""}};
  if (world().rank() == 1) items[1].hash = 3;
  const std::string error = error_of([&] { require_agreement(world(), "model files", items); });
  EXPECT_EQ(error, "model files: ranks disagree on models/a/model.safetensors (rank" +
                       std::string(world().size() > 2 ? "s 0,2" : " 0") + " vs rank 1)");
}

TEST(Resume, ContinuesExactlyAsTheUninterruptedRun) {
  const std::vector<std::string> run = {"optim.steps=10", "log.checkpoint_interval=4", "log.name=resume"};
  auto with_dir = [&](const std::string& dir) {
    std::vector<std::string> v = run;
    v.push_back("log.dir=" + ::testing::TempDir() + dir + std::to_string(world().size()));
    return short_run(v);
  };
  const nlohmann::json straight = train(with_dir("straight"), world());

  setenv("QZO_TEST_FAIL_AFTER_STEP", "6", 1);
  const std::string crash = error_of([&] { train(with_dir("crashed"), world()); });
  unsetenv("QZO_TEST_FAIL_AFTER_STEP");
  EXPECT_EQ(crash, "test hook: stopped after step 6");

  std::vector<std::string> other_lr = run;
  other_lr.push_back("optim.lr=1e-4");
  other_lr.push_back("log.dir=" + ::testing::TempDir() + "crashed" + std::to_string(world().size()));
  EXPECT_NE(error_of([&] { run_training(short_run(other_lr), world()); })
                .find("holds an unfinished run of another config (optim.lr = 3.0e-05 there, 1.0e-04 here)"),
            std::string::npos);

  const nlohmann::json resumed = train(with_dir("crashed"), world());
  EXPECT_EQ(resumed["resumed_from_step"], 4);
  EXPECT_EQ(resumed["state_hash"], straight["state_hash"]);
  EXPECT_EQ(resumed["final"], straight["final"]);
  EXPECT_EQ(resumed["clip_rate"], straight["clip_rate"]);
}

TEST(PerturbationParallel, MatchesDataModeWithTheSameN) {
  const std::string n = "method.n_perturbations=" + std::to_string(world().size());
  RecordingLog parallel, single;
  const nlohmann::json p = train(short_run({n, "dist.mode=perturbation"}), world(), &parallel);
  const auto hashes = world().all_gather_text(p["state_hash"].get<std::string>());
  EXPECT_TRUE(all_equal(hashes));
  EXPECT_EQ(p["bytes_reduced_per_step"].get<double>(), 8.0 * (3 * world().size() + 1));
  if (world().rank() == 0) {
    auto local = make_local_communicator();
    train(short_run({n}), *local, &single);
    ASSERT_EQ(parallel.steps.size(), single.steps.size());
    for (size_t i = 0; i < single.steps.size(); ++i) {
      // Each perturbation sees the whole batch on one rank: the same arithmetic exactly.
      EXPECT_EQ(parallel.steps[i].loss_plus, single.steps[i].loss_plus) << "record " << i;
      EXPECT_EQ(parallel.steps[i].proj_grad_clipped, single.steps[i].proj_grad_clipped) << "record " << i;
    }
  }
  world().all_gather(0);
}

TEST(PerturbationParallel, NeedsAtLeastOnePerturbationPerRank) {
  const std::string error = error_of([&] { train(short_run({"dist.mode=perturbation"}), world()); });
  EXPECT_NE(error.find("dist.mode perturbation needs method.n_perturbations (1) >= the world size"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace qzo
