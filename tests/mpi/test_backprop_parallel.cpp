// Data parallelism of the backprop baselines (QLoRA, FT), under mpirun at 2 and 3 ranks: P ranks
// summing their shards' gradients follow one rank on the same global batch (within fp32
// reduction tolerance), replicas stay bit-identical, the bytes per step are the gradient's,
// and a resumed QLoRA run (optimizer moments included) continues exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "framework/config/load.h"
#include "framework/io/safetensors.h"
#include "framework/methods/lora_peft.h"
#include "framework/train/zo_trainer.h"
#include "tests/mpi/world.h"
#include "tests/recording_log.h"
#include "tests/support/error_of.h"

namespace qzo {
namespace {

using testing_mpi::world;

// A short QLoRA run (NF4 base, double-quantized absmax, dropout on) on the spam task.
Config qlora_run(std::vector<std::string> overrides = {}) {
  const std::string root = QZO_SOURCE_DIR;
  std::vector<std::string> all = {"model.path=" + root + "/models/qzo-tiny",
                                  "optim.steps=5",
                                  "optim.batch_size=7",  // uneven shards over 2 and 3 ranks
                                  "task.n_train=64",
                                  "task.n_dev=0",
                                  "task.n_eval=24",
                                  "eval.zero_shot=false",
                                  "dist.guard_interval=2",
                                  "log.interval=1000",
                                  "log.dir=" + ::testing::TempDir() + "qzo-mpi-backprop",
                                  "threads=1"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_config(root + "/configs/qlora-paper.yaml", train_schema(), all);
}

nlohmann::json train(const Config& cfg, Communicator& comm, RunLog* log = nullptr) {
  RunOptions options;
  options.overwrite = true;
  return run_training_with(options, cfg, comm, log);
}

class BackpropParallel : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(BackpropParallel, FollowsOneRankOnTheSameGlobalBatch) {
  testing::RecordingLog parallel, single;
  const nlohmann::json p = train(qlora_run(GetParam()), world(), &parallel);
  const auto hashes = world().all_gather_text(p["state_hash"].get<std::string>());
  for (const std::string& h : hashes) EXPECT_EQ(h, hashes[0]);  // every rank applied the same update
  if (world().rank() == 0) {
    auto local = make_local_communicator();
    train(qlora_run(GetParam()), *local, &single);
    ASSERT_EQ(parallel.steps.size(), single.steps.size());
    for (size_t i = 0; i < single.steps.size(); ++i) {
      const StepRecord &a = parallel.steps[i], &b = single.steps[i];
      // Dropout masks are drawn per rank's shard, so with dropout on (the empty override) the
      // trajectories differ by design and only the replicas' agreement above is checked.
      if (GetParam().empty()) continue;
      EXPECT_NEAR(a.loss_plus, b.loss_plus, 2e-4 * std::abs(b.loss_plus)) << "step " << i;
      EXPECT_NEAR(a.proj_grad_raw, b.proj_grad_raw, 2e-3 * std::abs(b.proj_grad_raw)) << "step " << i;
      EXPECT_EQ(a.tokens, b.tokens) << "step " << i;
    }
  }
  world().all_gather(0);
}

// Without dropout the shards' masks play no part: QLoRA and both FT optimizers; then QLoRA
// with its preset's dropout.
INSTANTIATE_TEST_SUITE_P(
    Methods, BackpropParallel,
    ::testing::Values(std::vector<std::string>{"method.lora_dropout=0"},
                      std::vector<std::string>{"method.name=ft", "quant.method=none", "optim.lr=1e-5"},
                      std::vector<std::string>{"method.name=ft", "quant.method=none", "optim.optimizer=sgd",
                                               "optim.lr=1e-3"},
                      std::vector<std::string>{}));

TEST(BackpropParallel, MovesTheGradientsBytesPerStepAndWritesAPeftAdapter) {
  const nlohmann::json s = train(qlora_run({"log.name=bytes"}), world());
  const double values = s["gradient_allreduce_bytes"]["trainable"].get<double>() / 4.0;
  if (world().size() > 1) EXPECT_DOUBLE_EQ(s["bytes_reduced_per_step"].get<double>(), 4.0 * values + 24.0);
  if (world().rank() != 0) return;  // rank 0 alone writes the run's outputs
  const std::string adapter = s["adapter"].get<std::string>();
  const LoraSpec spec = read_peft_spec(adapter);
  EXPECT_EQ(spec.rank, 8);
  EXPECT_EQ(spec.targets, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(read_adapter_base(adapter).quantization, "nf4:bits=4,group_size=64,double_quant=true");
  const SafetensorsReader tensors = SafetensorsReader::open(adapter + "/adapter_model.safetensors");
  EXPECT_EQ(tensors.names().size(), 16u);  // A and B of q_proj and v_proj in 4 layers
  EXPECT_TRUE(tensors.has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
}

TEST(BackpropResume, ContinuesExactlyAsTheUninterruptedRun) {
  auto with_dir = [&](const std::string& dir) {
    return qlora_run({"optim.steps=8", "log.checkpoint_interval=3", "log.name=resume",
                      "log.dir=" + ::testing::TempDir() + dir + std::to_string(world().size())});
  };
  const nlohmann::json straight = train(with_dir("bp-straight"), world());
  setenv("QZO_TEST_FAIL_AFTER_STEP", "5", 1);
  const std::string crash = error_of([&] { train(with_dir("bp-crashed"), world()); });
  unsetenv("QZO_TEST_FAIL_AFTER_STEP");
  EXPECT_EQ(crash, "test hook: stopped after step 5");
  const nlohmann::json resumed = run_training(with_dir("bp-crashed"), world());
  EXPECT_EQ(resumed["resumed_from_step"], 3);
  EXPECT_EQ(resumed["state_hash"], straight["state_hash"]);
  EXPECT_EQ(resumed["final"], straight["final"]);
}

}  // namespace
}  // namespace qzo
