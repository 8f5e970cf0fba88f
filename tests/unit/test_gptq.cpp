// GPTQ and the codebook quantizer on one layer: GPTQ's layer-wise output error on its
// calibration inputs is at most RTN's at the same bits and groups (with and without act-order,
// symmetric and not); with an identity Hessian it is RTN; act-order's g_idx is a valid group
// map that the dequantization follows; the codebook quantizer's weighted k-means beats a
// uniform per-channel grid; and a calibrated model quantizes layer by layer end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "framework/core/error.h"
#include "framework/quant/codebook.h"
#include "framework/quant/gptq.h"
#include "framework/quant/quantized_model.h"
#include "kernels/packing.h"
#include "tests/support/tiny_model.h"

namespace qzo {
namespace {

using testing::tiny_batch;
using testing::tiny_config;

struct Layer {
  int out = 48, in = 64;
  std::vector<float> W;
  std::vector<double> H;  // 2/N XᵀX of correlated inputs with uneven channel scales
};

Layer random_layer(uint32_t seed, int out = 48, int in = 64, int rows = 512) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Layer L;
  L.out = out;
  L.in = in;
  for (int i = 0; i < out * in; ++i) L.W.push_back(0.05f * normal(rng));
  std::vector<double> X(size_t(rows) * in);
  for (int r = 0; r < rows; ++r) {
    const double shared = normal(rng);
    for (int c = 0; c < in; ++c)
      X[size_t(r) * in + c] = (0.5 + (c % 7)) * (normal(rng) + 0.8 * shared);  // correlated, uneven
  }
  L.H.assign(size_t(in) * in, 0.0);
  for (int r = 0; r < rows; ++r)
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < in; ++j)
        L.H[size_t(i) * in + j] += 2.0 * X[size_t(r) * in + i] * X[size_t(r) * in + j] / rows;
  return L;
}

double error_of(const Layer& L, const QuantizedLinear& Q) {
  std::vector<float> W_hat(L.W.size());
  Q.dequantize(W_hat.data());
  return layer_output_error(L.W.data(), W_hat.data(), L.out, L.in, L.H);
}

QuantizedLinear gptq(const Layer& L, const QuantSpec& spec) {
  const LayerCalibration calibration{L.H};
  return QuantizedLinear::quantize(L.W.data(), L.out, L.in, spec, "layer", cpu_backend(), &calibration);
}

QuantSpec rtn_twin(QuantSpec spec) {
  spec.method = QuantMethod::Rtn;
  spec.desc_act = false;
  return spec;
}

TEST(Gptq, OutputErrorOnCalibrationIsAtMostRtnsAtEveryBitWidth) {
  const Layer L = random_layer(1);
  for (const char* text :
       {"gptq:bits=2,group_size=16", "gptq:bits=3,group_size=16", "gptq:bits=4,group_size=16",
        "gptq:bits=8,group_size=16", "gptq:bits=4,group_size=channel", "gptq:bits=4,group_size=16,symmetric=true",
        "gptq:bits=3,group_size=16,desc_act=true", "gptq:bits=4,group_size=32,desc_act=true,symmetric=true"}) {
    SCOPED_TRACE(text);
    const QuantSpec spec = QuantSpec::parse(text);
    const double e_gptq = error_of(L, gptq(L, spec));
    const double e_rtn = error_of(L, QuantizedLinear::quantize(L.W.data(), L.out, L.in, rtn_twin(spec)));
    EXPECT_LT(e_gptq, e_rtn);
    if (spec.bits <= 4) {
      EXPECT_LT(e_gptq, 0.9 * e_rtn);  // a real gain, not rounding noise
    }
  }
}

// With H = I no column's error can move another: GPTQ is RTN, code for code.
TEST(Gptq, IdentityHessianGivesRtn) {
  Layer L = random_layer(2);
  L.H.assign(size_t(L.in) * L.in, 0.0);
  for (int i = 0; i < L.in; ++i) L.H[size_t(i) * L.in + i] = 1.0;
  const QuantSpec spec = QuantSpec::parse("gptq:bits=3,group_size=16");
  const QuantizedLinear G = gptq(L, spec);
  const QuantizedLinear R = QuantizedLinear::quantize(L.W.data(), L.out, L.in, rtn_twin(spec));
  EXPECT_EQ(G.packed_codes(), R.packed_codes());
  EXPECT_EQ(G.zero_points(), R.zero_points());
  EXPECT_EQ(G.scales(), R.scales());
}

TEST(Gptq, ActOrderGroupsHoldGroupSizeColumnsAndDequantizeThroughGIdx) {
  const Layer L = random_layer(3);
  const QuantizedLinear G = gptq(L, QuantSpec::parse("gptq:bits=4,group_size=16,desc_act=true"));
  const std::vector<int32_t> g_idx = G.g_idx();
  ASSERT_EQ(g_idx.size(), size_t(L.in));
  std::vector<int> count(size_t(L.in / 16), 0);
  for (int32_t g : g_idx) ++count.at(size_t(g));
  for (int c : count) EXPECT_EQ(c, 16);
  // The highest-variance input (H_cc largest) is visited first: it is in group 0.
  int top = 0;
  for (int c = 1; c < L.in; ++c)
    if (L.H[size_t(c) * L.in + c] > L.H[size_t(top) * L.in + top]) top = c;
  EXPECT_EQ(g_idx[size_t(top)], 0);
  std::vector<float> W_hat(L.W.size());
  G.dequantize(W_hat.data());
  const std::vector<float> S = G.scales();
  const std::vector<uint8_t> Z = G.zero_points();
  for (int r = 0; r < L.out; ++r)
    for (int c = 0; c < L.in; ++c) {
      const size_t j = size_t(r) * 4 + size_t(g_idx[size_t(c)]);
      EXPECT_EQ(W_hat[size_t(r) * L.in + c], S[j] * (float(G.code(r, c)) - float(Z[j])));
    }
}

TEST(Gptq, DeadInputsQuantizeToZeroAndIndefiniteHessiansAreRefused) {
  Layer L = random_layer(4);
  for (int j = 0; j < L.in; ++j) L.H[size_t(5) * L.in + j] = L.H[size_t(j) * L.in + 5] = 0.0;  // input 5 never fires
  const QuantizedLinear G = gptq(L, QuantSpec::parse("gptq:bits=4,group_size=16"));
  std::vector<float> W_hat(L.W.size());
  G.dequantize(W_hat.data());
  for (int r = 0; r < L.out; ++r) EXPECT_EQ(W_hat[size_t(r) * L.in + 5], 0.0f);
  for (double& h : L.H) h = -h;
  const LayerCalibration bad{L.H};
  try {
    QuantizedLinear::quantize(L.W.data(), L.out, L.in, QuantSpec::parse("gptq:bits=4,group_size=16"), "q_proj",
                              cpu_backend(), &bad);
    FAIL() << "an indefinite Hessian quantized";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q_proj: the calibration Hessian is not positive definite"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(QuantizedLinear::quantize(L.W.data(), L.out, L.in, QuantSpec::parse("gptq:bits=4,group_size=16")),
               Error);
}

TEST(Codebook, WeightedKMeansBeatsAUniformPerChannelGrid) {
  const Layer L = random_layer(5);
  for (int bits : {2, 3, 4}) {
    SCOPED_TRACE(bits);
    QuantSpec spec = QuantSpec::defaults(QuantMethod::Codebook);
    spec.bits = bits;
    const QuantizedLinear C = gptq(L, spec);
    QuantSpec rtn = QuantSpec::parse("rtn:bits=" + std::to_string(bits) + ",group_size=channel");
    EXPECT_LT(error_of(L, C), error_of(L, QuantizedLinear::quantize(L.W.data(), L.out, L.in, rtn)));
    const std::vector<float> levels = C.codebooks(), scales = C.scales();
    ASSERT_EQ(levels.size(), size_t(L.out) << bits);
    ASSERT_EQ(scales.size(), size_t(L.out));
    for (int r = 0; r < L.out; ++r) {
      float absmax = 0;
      for (int q = 0; q < (1 << bits); ++q) {
        const float l = levels[(size_t(r) << bits) + size_t(q)];
        EXPECT_LE(std::fabs(l), 1.0f);
        if (q > 0) {
          EXPECT_GE(l, levels[(size_t(r) << bits) + size_t(q) - 1]);
        }
        absmax = std::max(absmax, std::fabs(l));
      }
      EXPECT_FLOAT_EQ(absmax, 1.0f);
      EXPECT_GT(scales[size_t(r)], 0.0f);
    }
  }
}

// The whole path on a tiny model: calibration windows, block-by-block Hessians, save → load.
TEST(Gptq, CalibratedModelQuantizesSavesAndLoadsBitForBit) {
  std::mt19937 rng(8);
  std::uniform_int_distribution<int32_t> token(0, tiny_config().vocab_size - 1);
  CalibrationSet data;
  data.seq_len = 12;
  data.source = "random tokens";
  for (int w = 0; w < 20; ++w) {
    data.windows.emplace_back();
    for (int t = 0; t < data.seq_len; ++t) data.windows.back().push_back(token(rng));
  }
  for (const char* text : {"gptq:bits=3,group_size=4,desc_act=true", "codebook:bits=2"}) {
    SCOPED_TRACE(text);
    const QuantizedModel qm =
        QuantizedModel::quantize(Model::init(tiny_config(), 7, 0.3f), QuantSpec::parse(text), &data);
    const std::string dir = ::testing::TempDir() + "/calibrated";
    qm.save(dir);
    const QuantizedModel back = QuantizedModel::load(dir);
    ASSERT_EQ(back.layers().size(), qm.layers().size());
    for (size_t l = 0; l < qm.layers().size(); ++l) {
      EXPECT_EQ(back.layers()[l].packed_codes(), qm.layers()[l].packed_codes());
      EXPECT_EQ(back.layers()[l].scales(), qm.layers()[l].scales());
      EXPECT_EQ(back.layers()[l].g_idx(), qm.layers()[l].g_idx());
      EXPECT_EQ(back.layers()[l].codebooks(), qm.layers()[l].codebooks());
    }
    const Batch b = tiny_batch();
    EXPECT_EQ(back.forward_loss(b).total_loss, qm.forward_loss(b).total_loss);
  }
  EXPECT_THROW(QuantizedModel::quantize(Model::init(tiny_config(), 7, 0.3f), QuantSpec::parse("gptq")), Error);
}

}  // namespace
}  // namespace qzo
