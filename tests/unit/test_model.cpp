// The decoder as a whole: backward against finite differences over every parameter,
// agreement between its entry points, storage dtypes, save/load and cached generation.
#include <cmath>
#include <filesystem>

#include "framework/core/error.h"
#include "framework/model/generate.h"
#include "framework/model/model.h"
#include "tests/unit/grad_check.h"
#include "tests/support/tiny_model.h"

namespace qzo {
namespace {

using testing::tiny_batch;
using testing::tiny_config;

class ModelGradient : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ModelGradient, BackwardMatchesFiniteDifferencesForEveryParameter) {
  const auto [bias, tied] = GetParam();
  Model model = Model::init(tiny_config(bias, tied), 7, 0.5f);
  // Non-trivial norms and biases so that their gradients are exercised away from init.
  for (Parameter& p : model.parameters())
    if (p.shape.size() == 1)
      for (int64_t i = 0; i < p.numel(); ++i) p.f32()[i] += 0.1f * std::sin(float(i + p.name.size()));
  const Batch batch = tiny_batch();
  Gradients grads(model);
  const LossSums sums = model.forward_backward(batch, grads, 1.0f);
  EXPECT_EQ(sums.total_count, batch.labelled());
  for (size_t id = 0; id < model.parameters().size(); ++id) {
    Parameter& p = model.parameters()[id];
    std::vector<float> values(p.f32(), p.f32() + p.numel());
    auto loss = [&] {
      std::copy(values.begin(), values.end(), p.f32());
      return model.forward_loss(batch).total_loss;
    };
    testing::expect_gradient_matches(loss, values, grads.of(static_cast<int>(id)), p.name.c_str(), 1e-2f, 3e-2, 24);
    std::copy(values.begin(), values.end(), p.f32());
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ModelGradient,
                         ::testing::Values(std::make_tuple(false, false), std::make_tuple(true, true)));

TEST(Model, ForwardLossAgreesWithLogitsAndWithTrainingForward) {
  Model model = Model::init(tiny_config(true, false), 3, 0.3f);
  const Batch batch = tiny_batch();
  const LossSums inference = model.forward_loss(batch);
  Gradients grads(model);
  const LossSums training = model.forward_backward(batch, grads, 1.0f);
  EXPECT_NEAR(inference.total_loss, training.total_loss, 1e-4);
  const std::vector<float> logits = model.forward_logits(batch.tokens, batch.B, batch.T);
  const int V = model.config().vocab_size;
  double expected = 0;
  for (int i = 0; i < batch.B * batch.T; ++i) {
    if (batch.targets[i] < 0) continue;
    double m = -1e30, s = 0;
    for (int v = 0; v < V; ++v) m = std::max(m, double(logits[i * V + v]));
    for (int v = 0; v < V; ++v) s += std::exp(logits[i * V + v] - m);
    expected += std::log(s) + m - logits[i * V + batch.targets[i]];
  }
  EXPECT_NEAR(inference.total_loss, expected, 1e-4);
  EXPECT_NEAR(inference.row_loss[0] + inference.row_loss[1], inference.total_loss, 1e-9);
  EXPECT_EQ(inference.row_count[0], 4);
  EXPECT_EQ(inference.row_count[1], 3);
}

TEST(Model, PaddingOnTheRightDoesNotChangeEarlierLosses) {
  Model model = Model::init(tiny_config(false, false), 5, 0.3f);
  Batch shortb;
  shortb.B = 1;
  shortb.T = 3;
  shortb.tokens = {1, 2, 3};
  shortb.targets = {2, 3, 4};
  Batch padded = shortb;
  padded.T = 5;
  padded.tokens = {1, 2, 3, 0, 0};
  padded.targets = {2, 3, 4, -1, -1};
  EXPECT_NEAR(model.forward_loss(shortb).total_loss, model.forward_loss(padded).total_loss, 1e-5);
}

TEST(Model, SaveLoadRoundTripIsExactAndBf16StorageIsClose) {
  Model model = Model::init(tiny_config(true, true), 9, 0.3f);
  const std::string dir = ::testing::TempDir() + "/qzo_model_roundtrip";
  model.save(dir);
  Model again = Model::load(dir);
  const Batch batch = tiny_batch();
  EXPECT_EQ(model.forward_loss(batch).total_loss, again.forward_loss(batch).total_loss);
  Model bf16 = Model::load(dir, DType::BF16);
  EXPECT_EQ(bf16.parameters()[0].dtype, DType::BF16);
  EXPECT_NEAR(model.forward_loss(batch).mean(), bf16.forward_loss(batch).mean(), 2e-2);
  std::filesystem::remove_all(dir);
}

TEST(Model, LoadNamesTheMissingConfig) {
  try {
    Model::load("/nonexistent/qzo-model");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/qzo-model/config.json"), std::string::npos) << e.what();
  }
}

TEST(Model, OutOfVocabularyTokenIsAnError) {
  Model model = Model::init(tiny_config(false, false), 1);
  EXPECT_THROW(model.forward_logits({1, 99}, 1, 2), Error);
}

TEST(Generator, CachedLogitsEqualFullForward) {
  Model model = Model::init(tiny_config(true, false), 11, 0.4f);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2};
  const int V = model.config().vocab_size;
  const std::vector<float> full = model.forward_logits(tokens, 1, static_cast<int>(tokens.size()));
  Generator gen(model);
  gen.feed({3, 1, 4});
  gen.feed({1, 5});
  gen.feed({9});
  const std::vector<float>& last = gen.feed({2});
  for (int v = 0; v < V; ++v) EXPECT_NEAR(last[v], full[(tokens.size() - 1) * V + v], 1e-5);
}

TEST(Generator, GreedyIsDeterministicAndStopsAtTheStopToken) {
  Model model = Model::init(tiny_config(false, true), 13, 0.5f);
  Generator gen(model);
  SamplingOptions o;
  o.max_new_tokens = 6;
  const auto a = gen.generate({1, 2}, o);
  const auto b = gen.generate({1, 2}, o);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 6u);
  o.stop_token = a[2];
  const auto stopped = gen.generate({1, 2}, o);
  EXPECT_EQ(stopped.size(), std::find(a.begin(), a.end(), a[2]) - a.begin());
  o.temperature = 1.0f;
  o.top_k = 3;
  o.seed = 4;
  EXPECT_EQ(gen.generate({1, 2}, o), gen.generate({1, 2}, o));
}

}  // namespace
}  // namespace qzo
