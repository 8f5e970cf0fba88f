// The backprop baselines: LoRA over a frozen NF4 base and full fine-tuning. Gradients of the
// adapters (through the dequantized frozen weights of every layer above) and of the task
// objective against central finite differences; B = 0 reproduces the base; checkpointing
// and dropout masks are exact; PEFT save/load round trip and `qzo merge`'s fold.
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "framework/core/paths.h"
#include "framework/methods/full_finetune.h"
#include "framework/methods/lora.h"
#include "framework/methods/lora_peft.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/task_backprop.h"
#include "kernels/ops.h"
#include "kernels/philox.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/grad_check.h"
#include "tests/support/tiny_model.h"

namespace qzo {
namespace {

using testing::tiny_batch;
using testing::tiny_config;

QuantizedModel nf4_tiny() {
  return QuantizedModel::quantize(Model::init(tiny_config(), 7, 0.5f), QuantSpec::parse("nf4:group_size=4"));
}

LoraSpec all_linear(float dropout = 0.0f) {
  LoraSpec s;
  s.rank = 2;
  s.alpha = 4.0f;
  s.dropout = dropout;
  s.targets = parse_lora_targets("all-linear", "test");
  return s;
}

// B starts at zero, which would make every dA vanish: give it values so both factors are probed.
void randomize_b(LoraParameters& lora, uint64_t seed) {
  for (LoraParameters::Adapter& a : lora.adapters()) {
    const std::vector<float> b = testing::random_vector(size_t(a.out) * lora.spec().rank, seed++, 0.5f);
    std::copy(b.begin(), b.end(), a.B.as<float>());
  }
}

// The summed next-token cross-entropy of a batch, and its gradient written into the logits.
HeadLoss summed_cross_entropy(const Batch& batch) {
  auto gold = std::make_shared<std::vector<int32_t>>();
  for (int32_t t : batch.targets)
    if (t >= 0) gold->push_back(t);
  return [gold](float* logits, int R, int V) {
    std::vector<float> loss(R);
    const std::vector<float> ones(R, 1.0f);  // a null scale would leave the logits unchanged
    ops::cross_entropy_forward_backward(cpu_backend(), loss.data(), logits, gold->data(), R, V, ones.data());
    double sum = 0;
    for (float l : loss) sum += l;
    return sum;
  };
}

double summed_loss(const Model& model, const WeightSource& source, const Batch& batch) {
  return model.forward_loss(batch, &source).total_loss;
}

class LoraGradient : public ::testing::TestWithParam<float> {};

TEST_P(LoraGradient, AdapterFactorsMatchFiniteDifferencesThroughTheFrozenNf4Base) {
  const float dropout = GetParam();
  QuantizedModel base = nf4_tiny();
  OptimizerOptions sgd;
  sgd.kind = BackpropOptimizer::sgd;
  LoraParameters lora(base.model(), std::make_unique<QuantizedWeights>(base), all_linear(dropout), 3, sgd);
  randomize_b(lora, 11);
  const Batch batch = tiny_batch();
  const uint64_t mask_seed = 99;
  const auto training = lora.training_source(mask_seed);
  const GradientTargets targets = lora.gradient_targets();
  for (const float* w : targets.weights) EXPECT_EQ(w, nullptr);  // the base never takes a gradient
  const double loss = base.model().backprop(batch, *training, summed_cross_entropy(batch), targets);
  EXPECT_NEAR(loss, summed_loss(base.model(), *training, batch), 1e-4 * std::abs(loss));
  for (TrainableTensor& t : lora.tensors()) {
    std::vector<float> values(t.values, t.values + t.n);
    const std::vector<float> analytic(t.grad, t.grad + t.n);
    auto f = [&] {
      std::copy(values.begin(), values.end(), t.values);
      return summed_loss(base.model(), *training, batch);
    };
    testing::expect_gradient_matches(f, values, analytic, t.name.c_str(), 4e-3f, 3e-2, 12);
    std::copy(values.begin(), values.end(), t.values);
  }
}

INSTANTIATE_TEST_SUITE_P(Dropout, LoraGradient, ::testing::Values(0.0f, 0.3f));

TEST(Lora, ZeroBReproducesTheBaseModelsLogitsBitForBit) {
  QuantizedModel base = nf4_tiny();
  LoraParameters lora(base.model(), std::make_unique<QuantizedWeights>(base), all_linear(), 3, {});
  const Batch b = tiny_batch();
  const QuantizedWeights plain(base);
  EXPECT_EQ(base.model().forward_logits(b.tokens, b.B, b.T, lora.current().get()),
            base.model().forward_logits(b.tokens, b.B, b.T, &plain));
}

TEST(Lora, ActivationCheckpointingGivesTheSameGradientsBitForBit) {
  QuantizedModel base = nf4_tiny();
  LoraParameters lora(base.model(), std::make_unique<QuantizedWeights>(base), all_linear(0.2f), 3, {});
  randomize_b(lora, 5);
  const Batch batch = tiny_batch();
  const auto source = lora.training_source(7);
  auto gradients = [&](bool checkpointing) {
    lora.zero_gradients();
    BackpropOptions o;
    o.activation_checkpointing = checkpointing;
    base.model().backprop(batch, *source, summed_cross_entropy(batch), lora.gradient_targets(), o);
    std::vector<float> all;
    for (const TrainableTensor& t : lora.tensors()) all.insert(all.end(), t.grad, t.grad + t.n);
    return all;
  };
  EXPECT_EQ(gradients(false), gradients(true));
}

TEST(Lora, DropoutMasksArePureFunctionsOfSeedStreamAndIndex) {
  int kept = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const bool keep = dropout_keeps(5, 3, uint64_t(i), 0.25f);
    EXPECT_EQ(keep, dropout_keeps(5, 3, uint64_t(i), 0.25f));
    kept += keep;
  }
  EXPECT_NEAR(double(kept) / n, 0.75, 0.01);
  int same = 0;
  for (int i = 0; i < 1000; ++i) same += dropout_keeps(5, 3, uint64_t(i), 0.5f) == dropout_keeps(6, 3, uint64_t(i), 0.5f);
  EXPECT_LT(same, 600);  // another seed draws another mask
}

TEST(Lora, TargetsNameModulesAndUnknownOnesAreRejected) {
  EXPECT_EQ(module_of("model.layers.3.self_attn.q_proj.weight"), "q_proj");
  EXPECT_EQ(parse_lora_targets("q_proj,v_proj", "k").size(), 2u);
  EXPECT_EQ(parse_lora_targets("all-linear", "k").size(), 7u);
  EXPECT_EQ(error_of([] { parse_lora_targets("q_proj,qkv", "method.lora_targets"); }).rfind(
                "method.lora_targets: unknown LoRA target 'qkv'", 0),
            0u);
  QuantizedModel base = nf4_tiny();
  LoraParameters qv(base.model(), std::make_unique<QuantizedWeights>(base), LoraSpec{}, 1, {});
  EXPECT_EQ(qv.adapters().size(), 4u);  // q_proj and v_proj of 2 layers
  EXPECT_EQ(qv.size(), size_t(2 * (8 * (8 + 16) + 8 * (8 + 8))));
}

TEST(Lora, PeftFolderRoundTripsAndMergeFoldsTheAdapterIntoTheBase) {
  QuantizedModel base = nf4_tiny();
  LoraParameters trained(base.model(), std::make_unique<QuantizedWeights>(base), all_linear(0.1f), 3, {});
  randomize_b(trained, 21);
  const TempDir dir;
  save_peft_adapter(trained, dir.path() + "/adapter", "models/qzo-tiny");
  const nlohmann::json config = nlohmann::json::parse(read_text_file(dir.path() + "/adapter/adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["r"], 2);
  EXPECT_EQ(config["lora_alpha"], 4.0);
  EXPECT_EQ(config["lora_dropout"], 0.1);

  const LoraSpec spec = read_peft_spec(dir.path() + "/adapter");
  LoraParameters loaded(base.model(), std::make_unique<QuantizedWeights>(base), spec, 77, {});
  load_peft_adapter(loaded, dir.path() + "/adapter");
  ASSERT_EQ(loaded.adapters().size(), trained.adapters().size());
  for (size_t i = 0; i < loaded.adapters().size(); ++i) {
    EXPECT_EQ(download_bytes(cpu_backend(), loaded.adapters()[i].A), download_bytes(cpu_backend(), trained.adapters()[i].A));
    EXPECT_EQ(download_bytes(cpu_backend(), loaded.adapters()[i].B), download_bytes(cpu_backend(), trained.adapters()[i].B));
  }

  const Model merged = merge_lora(loaded);
  const Batch b = tiny_batch();
  const std::vector<float> adapted = base.model().forward_logits(b.tokens, b.B, b.T, loaded.current().get());
  const std::vector<float> folded = merged.forward_logits(b.tokens, b.B, b.T);
  ASSERT_EQ(adapted.size(), folded.size());
  for (size_t i = 0; i < adapted.size(); ++i) EXPECT_NEAR(adapted[i], folded[i], 1e-4f) << i;

  LoraParameters other_rank(base.model(), std::make_unique<QuantizedWeights>(base), LoraSpec{}, 1, {});
  EXPECT_NE(error_of([&] { load_peft_adapter(other_rank, dir.path() + "/adapter"); }).find("has shape"),
            std::string::npos);
}

// Examples whose single-token candidates share ids (one row each), or differ in length.
std::vector<EncodedExample> examples(bool multi_token) {
  std::vector<EncodedExample> out(3);
  const std::vector<std::vector<int32_t>> prompts = {{1, 4, 2}, {5, 5, 0, 9}, {3, 7}};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i].prompt = prompts[i];
    out[i].candidates = multi_token ? std::vector<std::vector<int32_t>>{{6, 2}, {8}}
                                    : std::vector<std::vector<int32_t>>{{6}, {8}};
    out[i].label = int(i % 2);
  }
  return out;
}

class TaskObjectiveGradient : public ::testing::TestWithParam<bool> {};

TEST_P(TaskObjectiveGradient, FullFineTuningMatchesFiniteDifferencesOfTheTaskLoss) {
  const bool multi_token = GetParam();
  Model model = Model::init(tiny_config(), 9, 0.5f);
  FullParameters ft(model, {});
  const std::vector<EncodedExample> batch = examples(multi_token);
  const ObjectiveSum s = task_objective_backprop(model, model.stored_weights(), batch, false, ft.gradient_targets(), {});
  EncodingOptions enc;
  const ObjectiveSum forward = task_objective(model, model.stored_weights(), batch, false, enc);
  EXPECT_NEAR(s.sum, forward.sum, 1e-4 * std::abs(forward.sum));
  EXPECT_EQ(s.count, 3);
  for (TrainableTensor& t : ft.tensors()) {
    std::vector<float> values(t.values, t.values + t.n);
    const std::vector<float> analytic(t.grad, t.grad + t.n);
    auto f = [&] {
      std::copy(values.begin(), values.end(), t.values);
      return task_objective(model, model.stored_weights(), batch, false, enc).sum;
    };
    testing::expect_gradient_matches(f, values, analytic, t.name.c_str(), 1e-2f, 3e-2, 8);
    std::copy(values.begin(), values.end(), t.values);
  }
}

INSTANTIATE_TEST_SUITE_P(Candidates, TaskObjectiveGradient, ::testing::Values(false, true));

TEST(FullFineTuning, OptimizerStateIsPartOfTheSnapshotAndSgdKeepsNone) {
  Model model = Model::init(tiny_config(), 9, 0.5f);
  FullParameters adamw(model, {});
  EXPECT_EQ(adamw.optimizer_bytes(), 2 * adamw.trainable_bytes());
  const Batch batch = tiny_batch();
  model.backprop(batch, model.stored_weights(), summed_cross_entropy(batch), adamw.gradient_targets());
  const auto before = adamw.snapshot();
  adamw.optimizer_step(1e-3f);
  const uint64_t after_one = adamw.state_hash();
  adamw.restore(before);
  adamw.optimizer_step(1e-3f);  // the same gradients, the same moments: the same step
  EXPECT_EQ(adamw.state_hash(), after_one);

  Model other = Model::init(tiny_config(), 9, 0.5f);
  OptimizerOptions sgd;
  sgd.kind = BackpropOptimizer::sgd;
  EXPECT_EQ(FullParameters(other, sgd).optimizer_bytes(), 0u);
}

TEST(FullFineTuning, RefusesWeightsThatAreNotFp32) {
  Model model = Model::init(tiny_config(), 9, 0.5f);
  const TempDir dir;
  model.save(dir.path(), DType::BF16);
  Model bf16 = Model::load(dir.path(), DType::BF16);
  EXPECT_NE(error_of([&] { FullParameters ft(bf16, {}); }).find("model.dtype: full fine-tuning trains fp32 weights"),
            std::string::npos);
}

}  // namespace
}  // namespace qzo
