// QuantizedLinear: building, every dequantization path against the naive group formula,
// Philox-fused perturbation, and the QZO scale update.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "framework/core/error.h"
#include "kernels/philox.h"
#include "framework/quant/quantized_linear.h"
#include "framework/quant/quantizer.h"
#include "kernels/ops.h"

namespace qzo {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// W = (S + offset) * (Q - Z) or (S + offset) * C[Q], element by element.
std::vector<float> naive_dequantize(const QuantizedLinear& L, const float* offsets) {
  const int out = L.out_features(), in = L.in_features(), g = L.group_size();
  const std::vector<float> scales = L.scales();
  const std::vector<uint8_t> zero_points = L.zero_points();
  std::vector<float> W(size_t(out) * in);
  for (int r = 0; r < out; ++r)
    for (int c = 0; c < in; ++c) {
      const size_t j = size_t(r) * L.groups_per_row() + c / g;
      const float s = offsets ? scales[j] + offsets[j] : scales[j];
      const uint8_t q = L.code(r, c);
      W[size_t(r) * in + c] = L.spec().method == QuantMethod::Nf4
                                  ? s * kNf4Codebook[q]
                                  : s * (float(q) - float(zero_points[j]));
    }
  return W;
}

void apply_scale_update(std::vector<float>& scales, uint64_t seed, uint32_t stream, float step,
                        float floor = kScaleFloor) {
  ops::scale_update(cpu_backend(), scales.data(), int64_t(scales.size()), seed, stream, step, floor);
}

struct Case {
  const char* spec;
  int out, in;
};
// Covers the AVX-512/AVX2 4-bit path (g % 16 == 0), the byte path (g = 8, 6), the generic
// unpacking path (odd g, 2/3 bits) and 8 bits, on odd row counts.
const Case kCases[] = {
    {"rtn:bits=4,group_size=32", 7, 64},         {"rtn:bits=4,group_size=32,symmetric=true", 5, 96},
    {"rtn:bits=4,group_size=8", 3, 40},          {"rtn:bits=4,group_size=6", 3, 18},
    {"rtn:bits=4,group_size=3", 3, 21},          {"rtn:bits=3,group_size=16", 5, 48},
    {"rtn:bits=3,group_size=5", 4, 15},          {"rtn:bits=3,group_size=48", 3, 96},
    {"rtn:bits=2,group_size=64,symmetric=true", 3, 128},          {"rtn:bits=2,group_size=16", 9, 32},
    {"rtn:bits=2,group_size=channel,symmetric=true", 3, 30},
    {"rtn:bits=8,group_size=16", 3, 48},         {"rtn:bits=8,group_size=channel", 2, 33},
    {"nf4", 3, 128},                             {"nf4:group_size=16", 5, 48},
    {"nf4:group_size=7", 2, 21},
};

TEST(QuantizedLinear, DequantizeEqualsTheGroupFormulaForEveryFormat) {
  for (const Case& c : kCases) {
    const std::vector<float> W = gaussian(size_t(c.out) * c.in, 3, 0.02f);
    const QuantizedLinear L = QuantizedLinear::quantize(W.data(), c.out, c.in, QuantSpec::parse(c.spec));
    std::vector<float> got(W.size());
    L.dequantize(got.data());
    EXPECT_TRUE(bit_equal(got, naive_dequantize(L, nullptr))) << c.spec;
    // And it is a quantization of W: RTN within half a scale per element.
    const std::vector<float> scales = L.scales();
    if (L.spec().method == QuantMethod::Rtn)
      for (size_t i = 0; i < W.size(); ++i) {
        const float s = scales[i / c.in * L.groups_per_row() + (i % c.in) / L.group_size()];
        ASSERT_LE(std::fabs(got[i] - W[i]), 0.5f * s * (1 + 1e-5f)) << c.spec << " element " << i;
      }
  }
}

TEST(QuantizedLinear, ZeroOffsetsReproduceDequantizeBitForBit) {
  for (const Case& c : kCases) {
    const std::vector<float> W = gaussian(size_t(c.out) * c.in, 4, 0.02f);
    const QuantizedLinear L = QuantizedLinear::quantize(W.data(), c.out, c.in, QuantSpec::parse(c.spec));
    std::vector<float> plain(W.size()), perturbed(W.size(), -1.0f);
    const std::vector<float> zeros(L.num_scales(), 0.0f);
    L.dequantize(plain.data());
    L.dequantize_perturbed(perturbed.data(), zeros.data());
    EXPECT_TRUE(bit_equal(plain, perturbed)) << c.spec;
    L.dequantize_perturbed(perturbed.data(), 5, 6, 0.0f);
    EXPECT_TRUE(bit_equal(plain, perturbed)) << c.spec << " (fused, eps 0)";
  }
}

TEST(QuantizedLinear, PerturbedEqualsTheNaiveReference) {
  for (const Case& c : kCases) {
    const std::vector<float> W = gaussian(size_t(c.out) * c.in, 5, 0.02f);
    const QuantizedLinear L = QuantizedLinear::quantize(W.data(), c.out, c.in, QuantSpec::parse(c.spec));
    const std::vector<float> offsets = gaussian(L.num_scales(), 6, 1e-3f);
    std::vector<float> got(W.size());
    L.dequantize_perturbed(got.data(), offsets.data());
    EXPECT_TRUE(bit_equal(got, naive_dequantize(L, offsets.data()))) << c.spec;
  }
}

TEST(QuantizedLinear, FusedPhiloxPerturbationEqualsTheBufferedOne) {
  for (const Case& c : kCases) {
    const std::vector<float> W = gaussian(size_t(c.out) * c.in, 7, 0.02f);
    const QuantizedLinear L = QuantizedLinear::quantize(W.data(), c.out, c.in, QuantSpec::parse(c.spec));
    const uint64_t seed = 0xfeedbeefcafeull;
    const uint32_t stream = 12;
    for (float signed_eps : {1e-3f, -1e-3f}) {
      std::vector<float> offsets(L.num_scales());
      philox_normal_fill(seed, stream, 0, offsets.size(), offsets.data());
      for (float& o : offsets) o = signed_eps * o;
      std::vector<float> buffered(W.size()), fused(W.size());
      L.dequantize_perturbed(buffered.data(), offsets.data());
      L.dequantize_perturbed(fused.data(), seed, stream, signed_eps);
      EXPECT_TRUE(bit_equal(buffered, fused)) << c.spec << " eps " << signed_eps;
    }
  }
}

TEST(QuantizedLinear, PerturbedPassesLeaveStoredScalesBitIdentical) {
  const std::vector<float> W = gaussian(16 * 64, 8, 0.02f);
  const QuantizedLinear L = QuantizedLinear::quantize(W.data(), 16, 64, QuantSpec::parse("rtn:group_size=32"));
  const std::vector<float> before = L.scales();
  std::vector<float> plus(W.size()), minus(W.size()), plain(W.size());
  for (int step = 0; step < 10; ++step) {
    L.dequantize_perturbed(plus.data(), 100 + step, 0, 1e-3f);
    L.dequantize_perturbed(minus.data(), 100 + step, 0, -1e-3f);
  }
  EXPECT_TRUE(bit_equal(before, L.scales()));
  L.dequantize(plain.data());
  EXPECT_FALSE(bit_equal(plus, plain)) << "the perturbation changed nothing";
  EXPECT_FALSE(bit_equal(plus, minus));
}

TEST(QuantizedLinear, GroupSizeNotDividingInFeaturesIsAOneLineError) {
  const std::vector<float> W(4 * 100, 0.5f);
  try {
    QuantizedLinear::quantize(W.data(), 4, 100, QuantSpec::parse("rtn:group_size=32"),
                              "model.layers.0.mlp.up_proj.weight");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("100"), std::string::npos) << msg;
    EXPECT_NE(msg.find("group_size 32"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(QuantizedLinear, PerChannelGroupSizeIsInFeatures) {
  const std::vector<float> W = gaussian(6 * 40, 9, 0.02f);
  const QuantizedLinear L = QuantizedLinear::quantize(W.data(), 6, 40, QuantSpec::parse("rtn:group_size=channel"));
  EXPECT_EQ(L.group_size(), 40);
  EXPECT_EQ(L.groups_per_row(), 1);
  EXPECT_EQ(L.num_scales(), 6u);
  EXPECT_EQ(L.zero_points().size(), 6u);
  EXPECT_EQ(L.row_bytes(), 20u);
  EXPECT_EQ(L.storage_bytes(), 6u * 20 + 6 + 6 * 4);
}

TEST(QuantizedLinear, FromPartsAdoptsQuantizedPartsAndRejectsWrongSizes) {
  const std::vector<float> W = gaussian(4 * 64, 10, 0.02f);
  const QuantSpec spec = QuantSpec::parse("rtn:bits=3,group_size=16");
  const QuantizedLinear L = QuantizedLinear::quantize(W.data(), 4, 64, spec);
  const QuantizedLinear M = QuantizedLinear::from_parts(4, 64, spec, L.packed_codes(), L.zero_points(), L.scales());
  std::vector<float> a(W.size()), b(W.size());
  L.dequantize(a.data());
  M.dequantize(b.data());
  EXPECT_TRUE(bit_equal(a, b));

  auto msg_of = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::vector<float> scales = L.scales();  // a host copy
  std::vector<float> short_scales(scales.begin(), scales.end() - 1);
  EXPECT_NE(msg_of([&] { QuantizedLinear::from_parts(4, 64, spec, L.packed_codes(), L.zero_points(), short_scales, "q_proj"); })
                .find("q_proj: scales has 15 elements, expected 16"),
            std::string::npos);
  std::vector<uint8_t> long_codes = L.packed_codes();
  long_codes.push_back(0);
  EXPECT_NE(msg_of([&] { QuantizedLinear::from_parts(4, 64, spec, long_codes, L.zero_points(), L.scales()); })
                .find("packed codes"),
            std::string::npos);
  std::vector<uint8_t> bad_zero = L.zero_points();
  bad_zero[2] = 8;
  EXPECT_NE(msg_of([&] { QuantizedLinear::from_parts(4, 64, spec, L.packed_codes(), bad_zero, L.scales()); })
                .find("does not fit in 3 bits"),
            std::string::npos);
}

TEST(ScaleUpdate, ZeroStepLeavesScalesBitIdentical) {
  const std::vector<float> W = gaussian(32 * 64, 11, 0.02f);
  for (const char* spec : {"rtn:group_size=32", "nf4", "rtn:symmetric=true,group_size=16"}) {
    QuantizedLinear L = QuantizedLinear::quantize(W.data(), 32, 64, QuantSpec::parse(spec));
    std::vector<float> scales = L.scales();
    scales[0] = 0.0f;  // even scales at or below the floor stay put
    scales[1] = 1e-12f;
    const std::vector<float> before = scales;
    for (int step = 0; step < 100; ++step) apply_scale_update(scales, 1000 + step, 3, 0.0f);
    EXPECT_TRUE(bit_equal(before, scales)) << spec;
  }
}

TEST(ScaleUpdate, MovesScalesAlongTheRegeneratedDirection) {
  const size_t n = 10000;  // several chunks
  std::vector<float> scales(n, 0.05f);
  const float step = -2e-4f;
  apply_scale_update(scales, 77, 9, step);
  for (size_t j = 0; j < n; ++j)
    ASSERT_EQ(scales[j], std::fma(step, philox_normal(77, 9, j), 0.05f)) << "scale " << j;
}

TEST(ScaleUpdate, FloorKeepsScalesPositive) {
  std::vector<float> scales(4096, 1e-3f);
  apply_scale_update(scales, 5, 0, 1.0f, 1e-6f);  // steps of size |z| >> 1e-3
  size_t floored = 0;
  for (size_t j = 0; j < scales.size(); ++j) {
    ASSERT_GE(scales[j], 1e-6f);
    const float z = philox_normal(5, 0, j);
    if (1e-3f + z < 1e-6f) {
      EXPECT_EQ(scales[j], 1e-6f);
      ++floored;
    }
  }
  EXPECT_GT(floored, 1000u);
  EXPECT_THROW(apply_scale_update(scales, 5, 0, 1.0f, -1.0f), Error);
}

}  // namespace
}  // namespace qzo
