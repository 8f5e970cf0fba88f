// The zeroth-order estimator as a specification: exact two forwards per step, clipping,
// no drift at lr = 0 (MeZO's weights, QZO's scales), convergence on a quadratic, MeZO's
// perturbation where weights are read, and small MeZO updates kept on bf16/fp16 storage.
#include <cmath>

#include "framework/core/error.h"
#include "kernels/philox.h"
#include "framework/methods/mezo.h"
#include "framework/methods/qzo.h"
#include "framework/train/zo_reduce.h"
#include "tests/unit/grad_check.h"

namespace qzo {
namespace {

// θ ∈ R^n as the only "parameter" 0; the objective reads it through the WeightSource.
class VectorParameters final : public ZoParameters {
 public:
  explicit VectorParameters(std::vector<float> theta) : theta_(std::move(theta)) {}
  std::string describe() const override { return "vector"; }
  size_t size() const override { return theta_.size(); }
  const Model& model() const override { throw Error("no model"); }
  std::unique_ptr<WeightSource> perturbed(uint64_t seed, float eps) const override {
    return std::make_unique<Source>(theta_, seed, eps);
  }
  std::unique_ptr<WeightSource> current() const override { return std::make_unique<Source>(theta_, 0, 0.0f); }
  void update(uint64_t seed, float step, float) override {
    for (size_t i = 0; i < theta_.size(); ++i) theta_[i] += step * philox_normal(seed, 0, i);
  }
  std::vector<std::vector<uint8_t>> snapshot() const override { return {}; }
  void restore(const std::vector<std::vector<uint8_t>>&) override {}
  uint64_t state_hash() const override { return 0; }
  size_t trainable_bytes() const override { return theta_.size() * 4; }
  const std::vector<float>& theta() const { return theta_; }

 private:
  struct Source final : WeightSource {
    const std::vector<float>& theta;
    uint64_t seed;
    float eps;
    Source(const std::vector<float>& t, uint64_t s, float e) : theta(t), seed(s), eps(e) {}
    WeightOperand operand(int) const override {
      return WeightOperand::of_dense(DType::F32, theta.data(), theta.size()).with_perturbation({seed, 0, eps});
    }
  };
  std::vector<float> theta_;
};

Objective quadratic(size_t n, int* calls) {
  return [n, calls](const WeightSource& w) {
    const std::vector<float> v = read_f32(cpu_backend(), w.operand(0));
    double s = 0;
    for (size_t i = 0; i < n; ++i) s += (v[i] - 1.0) * (v[i] - 1.0);
    if (calls) ++*calls;
    return LocalLoss{s, 1.0};
  };
}

TEST(ZoStep, ExactlyTwoForwardPassesPerPerturbation) {
  VectorParameters p({0.0f, 0.0f, 0.0f});
  auto comm = make_local_communicator();
  int calls = 0;
  ZoOptions o;
  const ZoStepResult r = zo_step(p, quadratic(3, &calls), 1, 0, 0.01, o, *comm);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(r.forward_passes, 2);
  o.n_perturbations = 3;
  calls = 0;
  zo_step(p, quadratic(3, &calls), 1, 1, 0.01, o, *comm);
  EXPECT_EQ(calls, 6);
  // One reduction of 3n loss scalars plus the token count per step.
  EXPECT_EQ(comm->bytes_reduced(), (3u + 1u + 9u + 1u) * sizeof(double));
}

TEST(ZoStep, ProjectedGradientIsTheCentralDifference) {
  VectorParameters p({0.5f, -2.0f});
  auto comm = make_local_communicator();
  ZoOptions o;
  o.eps = 1e-3f;
  const uint64_t seed = perturbation_seed(7, 4, 0);
  // For f = Σ(θ−1)², (f(θ+εz) − f(θ−εz)) / 2ε = 2 Σ (θ−1) z exactly.
  double expected = 0;
  for (int i = 0; i < 2; ++i) expected += 2.0 * (p.theta()[i] - 1.0) * philox_normal(seed, 0, i);
  const ZoStepResult r = zo_step(p, quadratic(2, nullptr), 7, 4, 0.0, o, *comm);
  EXPECT_NEAR(r.raw_grad[0], expected, 1e-2 * std::fabs(expected) + 1e-3);
}

TEST(ZoStep, MinimizesAQuadratic) {
  VectorParameters p(std::vector<float>(8, -1.0f));
  auto comm = make_local_communicator();
  ZoOptions o;
  const auto loss_of = [&] { return quadratic(8, nullptr)(*p.current()).sum; };
  const double before = loss_of();
  for (int step = 0; step < 400; ++step) zo_step(p, quadratic(8, nullptr), 3, step, 0.02, o, *comm);
  EXPECT_LT(loss_of(), 0.01 * before);
}

TEST(ZoStep, SignSgdStepsByTheSignOfDOnly) {
  EXPECT_EQ(zo_update_step(1e-3, 7.5, 2, ZoUpdate::sgd), static_cast<float>(-1e-3 * 7.5 / 2));
  EXPECT_EQ(zo_update_step(1e-3, 7.5, 2, ZoUpdate::signsgd), static_cast<float>(-1e-3 / 2));
  EXPECT_EQ(zo_update_step(1e-3, -0.01, 1, ZoUpdate::signsgd), 1e-3f);
  EXPECT_EQ(zo_update_step(1e-3, 0.0, 1, ZoUpdate::signsgd), 0.0f);  // d = 0: no move
  EXPECT_EQ(parse_zo_update("signsgd"), ZoUpdate::signsgd);
  EXPECT_THROW(parse_zo_update("adam"), Error);
}

TEST(ZoStep, SignSgdMinimizesAQuadratic) {
  VectorParameters p(std::vector<float>(8, -1.0f));
  auto comm = make_local_communicator();
  ZoOptions o;
  o.update = ZoUpdate::signsgd;
  const auto loss_of = [&] { return quadratic(8, nullptr)(*p.current()).sum; };
  const double before = loss_of();
  // A sign step moves lr·|z| whatever |d| is: about lr·0.8 of progress per step towards the
  // optimum (distance √32 here), so 1500 steps at lr 0.01 reach its noise floor.
  for (int step = 0; step < 1500; ++step) zo_step(p, quadratic(8, nullptr), 3, step, 0.01, o, *comm);
  EXPECT_LT(loss_of(), 0.01 * before);
}

TEST(ZoStep, ClippingClipsAndIsCounted) {
  VectorParameters p(std::vector<float>(4, 100.0f));  // far from the optimum: |d| is large
  auto comm = make_local_communicator();
  ZoOptions o;
  o.clip_threshold = 1.0;
  o.n_perturbations = 4;
  const ZoStepResult r = zo_step(p, quadratic(4, nullptr), 5, 0, 0.0, o, *comm);
  EXPECT_EQ(r.clipped, 4);
  for (int k = 0; k < 4; ++k) {
    EXPECT_GT(std::fabs(r.raw_grad[k]), 1.0);
    EXPECT_EQ(std::fabs(r.clipped_grad[k]), 1.0);
    EXPECT_EQ(std::signbit(r.clipped_grad[k]), std::signbit(r.raw_grad[k]));
  }
  EXPECT_EQ(clip_projected_grad(0.5, 1.0), 0.5);
  EXPECT_EQ(clip_projected_grad(-7.0, std::nullopt), -7.0);
}

TEST(ZoStep, NonFiniteLossSkipsOrStops) {
  VectorParameters p({1.0f});
  auto comm = make_local_communicator();
  const Objective nan_loss = [](const WeightSource&) { return LocalLoss{NAN, 1.0}; };
  ZoOptions o;
  const ZoStepResult r = zo_step(p, nan_loss, 1, 0, 1.0, o, *comm);
  EXPECT_TRUE(r.skipped);
  EXPECT_EQ(p.theta()[0], 1.0f);
  o.stop_on_nonfinite = true;
  EXPECT_THROW(zo_step(p, nan_loss, 1, 0, 1.0, o, *comm), Error);
}

ModelConfig small_config() {
  ModelConfig c;
  c.vocab_size = 13;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 4;
  c.max_position_embeddings = 8;
  return c;
}

Objective lm_objective(const Model& model) {
  return [&model](const WeightSource& w) {
    Batch b;
    b.B = 1;
    b.T = 4;
    b.tokens = {1, 2, 3, 4};
    b.targets = {2, 3, 4, 5};
    const LossSums s = model.forward_loss(b, &w);
    return LocalLoss{s.total_loss, double(s.total_count)};
  };
}

// The small model in a storage dtype: initialized in fp32, saved, and loaded back as `t`.
Model storage_model(DType t, uint64_t seed) {
  Model model = Model::init(small_config(), seed, 0.3f);
  if (t == DType::F32) return model;
  const std::string dir = ::testing::TempDir() + "/qzo_mezo_storage_" + dtype_name(t);
  model.save(dir);
  return Model::load(dir, t);
}

// Element `index` of parameter `id`, read and written in the parameter's storage dtype.
float stored_weight(const MezoParameters& p, int id, size_t index) {
  const DType t = p.model().parameters()[id].dtype;
  float v;
  convert_to_f32(t, p.snapshot()[id].data() + index * dtype_size(t), &v, 1);
  return v;
}
void set_stored_weight(MezoParameters& p, int id, size_t index, float v) {
  std::vector<std::vector<uint8_t>> s = p.snapshot();
  const DType t = p.model().parameters()[id].dtype;
  convert_from_f32(t, &v, s[id].data() + index * dtype_size(t), 1);
  p.restore(s);
}

class MezoStorage : public ::testing::TestWithParam<DType> {};

// MezoParameters::update has no lr = 0 shortcut, so these 100 steps run the update kernels
// (zo_axpy, and for bf16/fp16 the stochastic rounding back) with step ±0. Every tensor holds
// a −0 and a +0: fma(1, −0, +0) = +0 would change a bit.
TEST_P(MezoStorage, ZeroLrLeavesWeightsBitIdenticalAfter100Steps) {
  Model model = storage_model(GetParam(), 1);
  MezoParameters p(model);
  for (int id = 0; id < static_cast<int>(model.parameters().size()); ++id) {
    set_stored_weight(p, id, 0, -0.0f);
    set_stored_weight(p, id, 1, +0.0f);
  }
  const uint64_t before = p.state_hash();
  auto comm = make_local_communicator();
  ZoOptions o;
  o.weight_decay = 0.1f;  // decay is lr·weight_decay: zero too
  for (int step = 0; step < 100; ++step) zo_step(p, lm_objective(model), 9, step, 0.0, o, *comm);
  EXPECT_EQ(p.state_hash(), before);
  EXPECT_TRUE(std::signbit(stored_weight(p, 0, 0)));
}

// A weight of 0.03 receiving 200 MeZO updates of +3e-5 each, a quarter of a bf16 ulp: rounded
// to nearest it would stay at 0.03; rounded stochastically it ends near 0.036 on average.
// Each update's step is 3e-5 / z for the tracked weight's own z (the others move at random
// meanwhile), and every tracked weight (4 per tensor) starts over from the same model.
TEST_P(MezoStorage, SmallUpdatesAccumulateInTheStoredWeights) {
  Model model = storage_model(GetParam(), 1);
  MezoParameters p(model);
  const std::vector<std::vector<uint8_t>> initial = p.snapshot();
  constexpr int kUpdates = 200;
  constexpr float kStep = 3e-5f;
  double moved = 0;
  int tracked = 0;
  for (int id = 0; id < static_cast<int>(model.parameters().size()); ++id) {
    for (size_t index = 0; index < 4; ++index, ++tracked) {
      p.restore(initial);
      set_stored_weight(p, id, index, 0.03f);
      const float w0 = stored_weight(p, id, index);
      for (int u = 0; u < kUpdates; ++u) {
        const uint64_t seed = perturbation_seed(100 + tracked, u, 0);
        p.update(seed, kStep / philox_normal(seed, id, index), 0.0f);
      }
      moved += stored_weight(p, id, index) - w0;
    }
  }
  // Rounding noise per weight is at most sqrt(200)·ulp/2 = 1.7e-3 for bf16 (ulp 2.4e-4 above
  // 2^-5), so at most 2.7e-4 for the mean of 40+: the bound is over 4 of those.
  ASSERT_GE(tracked, 40);
  EXPECT_NEAR(moved / tracked, kUpdates * kStep, 1.2e-3) << dtype_name(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, MezoStorage, ::testing::Values(DType::F32, DType::BF16, DType::F16),
                         [](const auto& info) { return dtype_name(info.param); });

// QzoParameters::update has no lr = 0 shortcut either: every step runs the scale update with
// step ±0, which the additive update leaves as it is and the multiplicative one multiplies by
// exp(±0) = 1.
void expect_zero_lr_leaves_scales_after_100_steps(ScalePerturbation perturbation, float eps) {
  QuantizedModel qm = QuantizedModel::quantize(Model::init(small_config(), 1, 0.3f), QuantSpec::parse("rtn:bits=4,group_size=4"));
  QzoParameters p(qm, 1e-7f, perturbation);
  const uint64_t before = p.state_hash();
  auto comm = make_local_communicator();
  int moved = 0;  // steps whose two perturbed losses differ: the scales really were perturbed
  ZoOptions o;
  o.eps = eps;
  for (int step = 0; step < 100; ++step) {
    const ZoStepResult r = zo_step(p, lm_objective(p.model()), 9, step, 0.0, o, *comm);
    moved += r.loss_plus[0] != r.loss_minus[0];
  }
  EXPECT_EQ(moved, 100);
  EXPECT_EQ(p.state_hash(), before);
}

TEST(Qzo, ZeroLrLeavesScalesBitIdenticalAfter100Steps) {
  expect_zero_lr_leaves_scales_after_100_steps(ScalePerturbation::Additive, 1e-3f);
}

TEST(Qzo, MultiplicativeZeroLrLeavesScalesBitIdenticalAfter100Steps) {
  expect_zero_lr_leaves_scales_after_100_steps(ScalePerturbation::Multiplicative, 0.05f);
}

// S·exp(±εz) where the layer is read, and S·exp(step·z) in the update, z regenerated.
TEST(Qzo, MultiplicativePerturbationAndUpdateScaleEachScale) {
  QuantizedModel qm = QuantizedModel::quantize(Model::init(small_config(), 1, 0.3f), QuantSpec::parse("rtn:bits=4,group_size=4"));
  QzoParameters p(qm, 1e-7f, ScalePerturbation::Multiplicative);
  const QuantizedLinear& L = qm.layers()[2];
  const std::vector<float> S = L.scales();
  const int id = qm.param_of(2);
  const std::vector<float> W = read_weights_f32(qm.model(), *p.perturbed(42, -0.1f), id);
  std::vector<float> scaled(S.size());
  for (size_t j = 0; j < S.size(); ++j) scaled[j] = S[j] * std::exp(-0.1f * philox_normal(42, 2, j));
  QuantizedLinear copy = QuantizedLinear::from_parts(L.out_features(), L.in_features(), L.spec(), L.packed_codes(),
                                                     L.zero_points(), scaled);
  std::vector<float> want(W.size());
  copy.dequantize(want.data());
  for (size_t i = 0; i < W.size(); ++i) EXPECT_FLOAT_EQ(W[i], want[i]) << i;
  p.update(7, -0.3f, 0);
  const std::vector<float> moved = qm.layers()[2].scales();
  for (size_t j = 0; j < S.size(); ++j) {
    EXPECT_FLOAT_EQ(moved[j], S[j] * std::exp(-0.3f * philox_normal(7, 2, j)));
    EXPECT_GT(moved[j], 0.0f);
  }
}

TEST(Mezo, PerturbationIsAppliedWhereWeightsAreRead) {
  Model model = Model::init(small_config(), 2, 0.3f);
  MezoParameters p(model);
  const int id = 1;
  const std::vector<float> w = read_weights_f32(model, *p.perturbed(42, 0.5f), id);
  const float* stored = model.parameters()[id].f32();
  for (size_t i = 0; i < w.size(); ++i) EXPECT_FLOAT_EQ(w[i], stored[i] + 0.5f * philox_normal(42, id, i));
}

TEST(Mezo, TrainingLowersTheLoss) {
  Model model = Model::init(small_config(), 3, 0.3f);
  MezoParameters p(model);
  auto comm = make_local_communicator();
  const Objective f = lm_objective(model);
  const double before = f(*p.current()).sum;
  ZoOptions o;
  o.n_perturbations = 4;
  for (int step = 0; step < 300; ++step) zo_step(p, f, 11, step, 2e-3, o, *comm);
  EXPECT_LT(f(*p.current()).sum, 0.9 * before);
}

}  // namespace
}  // namespace qzo
