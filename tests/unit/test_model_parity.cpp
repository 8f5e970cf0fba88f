// The whole model on CUDA against the CPU: the default model's int4 forward (logits within
// bf16 tolerance, greedy ids equal), in fp32 GEMMs (tight), and one QZO step (losses within
// tolerance, the updated scales bit for bit, since z and the update are exact). Skips without
// a usable GPU, saying why.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "framework/dist/communicator.h"
#include "framework/methods/qzo.h"
#include "framework/quant/quantized_model.h"
#include "framework/train/zo_reduce.h"
#include "kernels/backend.h"
#include "kernels/device.h"
#if defined(QZO_HAVE_CUDA)
#include "kernels/cuda/cuda_ops.h"
#endif
#include "tests/unit/nmse.h"

namespace qzo {
namespace {

const std::string kModel = std::string(QZO_SOURCE_DIR) + "/models/qzo-tiny";

QuantizedModel int4_model(Backend& be) {
  return QuantizedModel::quantize(Model::load(kModel, DType::F32, be), QuantSpec::parse("rtn:bits=4,group_size=32"));
}

Batch random_batch(int B, int T, int vocab) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int32_t> id(0, vocab - 1);
  Batch b;
  b.B = B;
  b.T = T;
  for (int i = 0; i < B * T; ++i) b.tokens.push_back(id(rng));
  for (int i = 0; i < B * T; ++i) b.targets.push_back(i % T == T - 1 ? -1 : b.tokens[i + 1]);
  return b;
}

using testing::nmse;

std::vector<int> greedy_ids(const std::vector<float>& logits, int V) {
  std::vector<int> ids;
  for (size_t r = 0; r < logits.size() / V; ++r)
    ids.push_back(int(std::max_element(logits.begin() + r * V, logits.begin() + (r + 1) * V) - logits.begin() -
                      std::ptrdiff_t(r * V)));
  return ids;
}

class ModelParity : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
    cuda_ = make_backend("cuda");
  }
  std::unique_ptr<Backend> cuda_;
};

#if defined(QZO_HAVE_CUDA)
TEST_F(ModelParity, Int4ForwardMatchesCpuWithinBf16ToleranceAndGivesTheSameGreedyIds) {
  const QuantizedModel cpu = int4_model(cpu_backend()), gpu = int4_model(*cuda_);
  const Batch b = random_batch(4, 64, cpu.model().config().vocab_size);
  const std::vector<float> want = cpu.forward_logits(b.tokens, b.B, b.T), got = gpu.forward_logits(b.tokens, b.B, b.T);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_LT(nmse(got, want), 1e-4);
  const int V = cpu.model().config().vocab_size;
  const std::vector<int> want_ids = greedy_ids(want, V), got_ids = greedy_ids(got, V);
  int same = 0;
  for (size_t i = 0; i < want_ids.size(); ++i) same += want_ids[i] == got_ids[i];
  // bf16 GEMMs may flip a near-tie; more than one flip in 100 positions is a bug.
  EXPECT_GE(same, int(0.99 * want_ids.size())) << same << " of " << want_ids.size();
}

TEST_F(ModelParity, Int4ForwardInFp32GemmsMatchesCpuTightly) {
  cuda::set_cuda_matmul_precision(*cuda_, cuda::CudaMatmulPrecision::Fp32);
  const QuantizedModel cpu = int4_model(cpu_backend()), gpu = int4_model(*cuda_);
  const Batch b = random_batch(2, 48, cpu.model().config().vocab_size);
  EXPECT_LT(nmse(gpu.forward_logits(b.tokens, b.B, b.T), cpu.forward_logits(b.tokens, b.B, b.T)), 1e-9);
  const LossSums want = cpu.forward_loss(b), got = gpu.forward_loss(b);
  EXPECT_EQ(got.total_count, want.total_count);
  EXPECT_NEAR(got.mean(), want.mean(), 1e-5 * want.mean());
}

TEST_F(ModelParity, OneQzoStepGivesTheCpusLossesAndBitIdenticalScales) {
  cuda::set_cuda_matmul_precision(*cuda_, cuda::CudaMatmulPrecision::Fp32);
  QuantizedModel cpu = int4_model(cpu_backend()), gpu = int4_model(*cuda_);
  QzoParameters cpu_params(cpu, 1e-7f), gpu_params(gpu, 1e-7f);
  const Batch b = random_batch(4, 32, cpu.model().config().vocab_size);
  auto objective = [&b](const QuantizedModel& qm) {
    return [&b, &qm](const WeightSource& w) {
      const LossSums s = qm.model().forward_loss(b, &w);
      return LocalLoss{s.total_loss, double(s.total_count)};
    };
  };
  ZoOptions o;
  o.n_perturbations = 2;
  auto comm = make_local_communicator();
  const ZoStepResult want = zo_step(cpu_params, objective(cpu), 5, 0, 0.0, o, *comm);
  const ZoStepResult got = zo_step(gpu_params, objective(gpu), 5, 0, 0.0, o, *comm);
  for (int k = 0; k < o.n_perturbations; ++k) {
    EXPECT_NEAR(got.loss_plus[k], want.loss_plus[k], 1e-5 * want.loss_plus[k]);
    EXPECT_NEAR(got.loss_minus[k], want.loss_minus[k], 1e-5 * want.loss_minus[k]);
  }
  // The same step on both: z regenerated on the device must move every scale exactly as on the CPU.
  cpu_params.update(perturbation_seed(5, 0, 0), -3e-5f, 0.0f);
  gpu_params.update(perturbation_seed(5, 0, 0), -3e-5f, 0.0f);
  EXPECT_EQ(gpu_params.state_hash(), cpu_params.state_hash());
}
#endif

}  // namespace
}  // namespace qzo
