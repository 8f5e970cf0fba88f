// Quantizer specs, code packing and the RTN / NF4 group quantizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "framework/core/error.h"
#include "kernels/packing.h"
#include "framework/quant/quant_spec.h"
#include "framework/quant/quantizer.h"
#include "tests/support/error_of.h"

namespace qzo {
namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(QuantSpec, ParsesMethodNamesWithTheirDefaults) {
  const QuantSpec rtn = QuantSpec::parse("rtn");
  EXPECT_EQ(rtn.method, QuantMethod::Rtn);
  EXPECT_EQ(rtn.bits, 4);
  EXPECT_EQ(rtn.group_size, 128);
  EXPECT_FALSE(rtn.symmetric);
  const QuantSpec nf4 = QuantSpec::parse("nf4");
  EXPECT_EQ(nf4.method, QuantMethod::Nf4);
  EXPECT_EQ(nf4.bits, 4);
  EXPECT_EQ(nf4.group_size, 64);
}

TEST(QuantSpec, ParsesOptionsAndRoundTripsThroughToString) {
  const QuantSpec s = QuantSpec::parse("rtn: bits=3, group_size=32, symmetric=true");
  EXPECT_EQ(s.bits, 3);
  EXPECT_EQ(s.group_size, 32);
  EXPECT_TRUE(s.symmetric);
  const QuantSpec again = QuantSpec::parse(s.to_string());
  EXPECT_EQ(again.bits, 3);
  EXPECT_EQ(again.group_size, 32);
  EXPECT_TRUE(again.symmetric);
  EXPECT_EQ(QuantSpec::parse("rtn:group_size=channel").group_size, 0);
  EXPECT_EQ(QuantSpec::parse(QuantSpec::parse("nf4:group_size=channel").to_string()).group_size, 0);
}

TEST(QuantSpec, BadFieldsGiveOneLineErrorsNamingTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"rtn:bits=5", "quant.bits"},          {"nf4:bits=3", "quant.bits"},
      {"gptq9", "quant.method"},             {"rtn:group_size=-4", "quant.group_size"},
      {"rtn:bits=four", "bits must be an integer"}, {"rtn:width=4", "unknown key 'width'"},
      {"rtn:symmetric=maybe", "symmetric must be true or false"},
      {"nf4:symmetric=false", "rtn and gptq only"}, {"rtn:bits", "expected key=value"},
      {"codebook:bits=8", "quant.bits"},           {"codebook:group_size=32", "quant.group_size"},
      {"rtn:desc_act=true", "quant.desc_act"},     {"gptq:damp=2", "quant.damp"},
      {"gptq:damp=x", "damp must be a number"},
  };
  for (const auto& [spec, needle] : cases) {
    const std::string msg = error_of([&] { QuantSpec::parse(spec); });
    EXPECT_NE(msg.find(needle), std::string::npos) << spec << " -> " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Packing, PackedSizesAreDense) {
  EXPECT_EQ(packed_bytes(4096, 4), 2048u);
  EXPECT_EQ(packed_bytes(4096, 2), 1024u);
  EXPECT_EQ(packed_bytes(4096, 3), 1536u);
  EXPECT_EQ(packed_bytes(4096, 8), 4096u);
  EXPECT_EQ(packed_bytes(5, 3), 2u);  // 15 bits
  EXPECT_EQ(packed_bytes(3, 4), 2u);
}

TEST(Packing, LayoutIsALittleEndianBitStreamPerRow) {
  const uint8_t four[] = {0x1, 0xA, 0xF};
  uint8_t p4[2];
  pack_codes(four, 3, 4, p4);
  EXPECT_EQ(p4[0], 0xA1);
  EXPECT_EQ(p4[1], 0x0F);
  const uint8_t two[] = {1, 2, 3, 0, 3};
  uint8_t p2[2];
  pack_codes(two, 5, 2, p2);
  EXPECT_EQ(p2[0], 0b00111001);
  EXPECT_EQ(p2[1], 0b00000011);
  const uint8_t three[] = {0, 1, 2, 3, 4, 5, 6, 7};
  uint8_t p3[3];
  pack_codes(three, 8, 3, p3);
  // Bits (LSB first): 000 100 010 110 001 101 011 111.
  EXPECT_EQ(p3[0], 0x88);
  EXPECT_EQ(p3[1], 0xC6);
  EXPECT_EQ(p3[2], 0xFA);
}

TEST(Packing, RoundTripsEveryBitWidthWithOddSizes) {
  std::mt19937 rng(5);
  for (int bits : {2, 3, 4, 8}) {
    for (size_t n : {size_t(1), size_t(3), size_t(7), size_t(9), size_t(31), size_t(33), size_t(1001)}) {
      std::vector<uint8_t> codes(n), back(n + 1, 0xEE);
      for (auto& c : codes) c = uint8_t(rng() % (1u << bits));
      std::vector<uint8_t> packed(packed_bytes(n, bits) + 1, 0xEE);
      pack_codes(codes.data(), n, bits, packed.data());
      EXPECT_EQ(packed.back(), 0xEE) << "packing wrote past its size";
      unpack_codes(packed.data(), n, bits, back.data());
      EXPECT_TRUE(std::equal(codes.begin(), codes.end(), back.begin())) << bits << " bits, n " << n;
      EXPECT_EQ(back[n], 0xEE) << "unpacking wrote past n";
    }
  }
  EXPECT_NE(error_of([] { uint8_t c = 0, p = 0; pack_codes(&c, 1, 5, &p); }).find("bits"),
            std::string::npos);
}

TEST(Rtn, ReconstructionErrorIsAtMostHalfAScale) {
  for (int bits : {2, 3, 4, 8}) {
    for (bool symmetric : {false, true}) {
      for (uint32_t seed = 0; seed < 20; ++seed) {
        std::vector<float> w = gaussian(64, seed, 0.02f);
        if (seed % 3 == 1) for (float& x : w) x = std::fabs(x);  // one-signed groups
        std::vector<uint8_t> codes(w.size());
        const GroupQuant g = rtn_quantize_group(w.data(), int(w.size()), bits, symmetric, codes.data());
        ASSERT_GT(g.scale, 0.0f);
        ASSERT_LT(g.zero_point, 1 << bits);
        for (size_t i = 0; i < w.size(); ++i) {
          ASSERT_LT(codes[i], 1 << bits);
          const float back = g.scale * (float(codes[i]) - float(g.zero_point));
          EXPECT_LE(std::fabs(back - w[i]), 0.5f * g.scale * (1 + 1e-5f))
              << bits << " bits, symmetric " << symmetric << ", element " << i;
        }
        if (symmetric) {
          EXPECT_EQ(g.zero_point, 1 << (bits - 1));
        }
      }
    }
  }
}

TEST(Rtn, EightBitsAreNearlyLossless) {
  const std::vector<float> w = gaussian(128, 1, 0.05f);
  std::vector<uint8_t> codes(w.size());
  const GroupQuant g = rtn_quantize_group(w.data(), int(w.size()), 8, false, codes.data());
  double err = 0, energy = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double d = g.scale * (float(codes[i]) - float(g.zero_point)) - w[i];
    err += d * d;
    energy += double(w[i]) * w[i];
  }
  EXPECT_LT(err / energy, 1e-4);  // -40 dB; 4 bits gives about -20 dB
}

TEST(Rtn, AllZeroGroupGetsTheFloorScaleAndExactZeros) {
  const std::vector<float> w(32, 0.0f);
  std::vector<uint8_t> codes(w.size());
  for (bool symmetric : {false, true}) {
    const GroupQuant g = rtn_quantize_group(w.data(), 32, 4, symmetric, codes.data());
    EXPECT_EQ(g.scale, kScaleFloor);
    for (uint8_t c : codes) EXPECT_EQ(g.scale * (float(c) - float(g.zero_point)), 0.0f);
  }
}

TEST(Nf4, CodebookIsQloraNormalQuantiles) {
  // QLoRA builds NF4 from standard-normal quantiles: 8 positive levels at probabilities
  // linspace(0.9677083, 0.5, 9)[:-1], 7 negative at linspace(0.9677083, 0.5, 8)[:-1], plus
  // 0, all divided by the largest. Recompute them with a bisection on erfc.
  auto ppf = [](double p) {
    double lo = -10, hi = 10;
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
  };
  const double offset = 0.9677083;
  std::vector<double> levels{0.0};
  for (int i = 0; i < 8; ++i) levels.push_back(ppf(offset + (0.5 - offset) * i / 8.0));
  for (int i = 0; i < 7; ++i) levels.push_back(-ppf(offset + (0.5 - offset) * i / 7.0));
  std::sort(levels.begin(), levels.end());
  for (int k = 0; k < 16; ++k)
    EXPECT_NEAR(kNf4Codebook[k], levels[k] / levels[15], 2e-7) << "level " << k;
  EXPECT_EQ(kNf4Codebook[7], 0.0f);
  EXPECT_EQ(kNf4Codebook[0], -1.0f);
  EXPECT_EQ(kNf4Codebook[15], 1.0f);
}

TEST(Nf4, CodesAreTheNearestCodebookEntriesOfWOverAbsmax) {
  const std::vector<float> w = gaussian(64 * 50, 9, 0.03f);
  std::vector<uint8_t> codes(w.size());
  for (size_t b = 0; b < w.size(); b += 64) {
    const GroupQuant g = nf4_quantize_group(w.data() + b, 64, codes.data() + b);
    float absmax = 0;
    for (size_t i = b; i < b + 64; ++i) absmax = std::max(absmax, std::fabs(w[i]));
    EXPECT_EQ(g.scale, absmax);
    for (size_t i = b; i < b + 64; ++i) {
      const float x = w[i] / g.scale;
      const float d = std::fabs(x - kNf4Codebook[codes[i]]);
      for (int k = 0; k < 16; ++k) ASSERT_LE(d, std::fabs(x - kNf4Codebook[k])) << "w " << w[i];
    }
  }
  // Midpoints and the extremes.
  EXPECT_EQ(nf4_nearest(1.0f), 15);
  EXPECT_EQ(nf4_nearest(-1.0f), 0);
  EXPECT_EQ(nf4_nearest(0.0f), 7);
  EXPECT_EQ(nf4_nearest(0.03f), 7);
  EXPECT_EQ(nf4_nearest(0.05f), 8);
}

}  // namespace
}  // namespace qzo
