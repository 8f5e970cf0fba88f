// Specification of the fp32 <-> bf16/fp16 conversions: known bit patterns, round to nearest
// even, subnormals, inf/NaN, overflow; exhaustive round trips; and agreement with the
// compiler's own _Float16 conversion and a double-precision nearest-value oracle for bf16;
// stochastic rounding: exact values stay exact, the result is a neighbour, and it is unbiased.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "framework/core/dtype.h"
#include "framework/core/error.h"
#include "kernels/philox.h"

namespace qzo {
namespace {

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// The bf16 nearest to f (ties to even), found by comparing the two neighbours in double.
uint16_t bf16_oracle(float f) {
  const uint32_t b = bits_of(f);
  const uint16_t lo = static_cast<uint16_t>(b >> 16);                       // toward zero
  const uint16_t hi = static_cast<uint16_t>(lo + 1);                       // away from zero
  const double x = std::fabs(double(f));
  const double dlo = std::fabs(double(bf16_to_f32(lo))) ;
  // The successor of the largest finite bf16 is inf; treat it as 2^128 for the tie rule.
  const double dhi = ((hi & 0x7fffu) == 0x7f80u) ? std::ldexp(1.0, 128) : std::fabs(double(bf16_to_f32(hi)));
  if (x - dlo < dhi - x) return lo;
  if (x - dlo > dhi - x) return hi;
  return (lo & 1u) ? hi : lo;
}

TEST(DType, SizesAndNamesMatchSafetensors) {
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_size(DType::BOOL), 1u);
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16, DType::I8,
                  DType::U8, DType::BOOL})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_THROW(dtype_from_name("F64"), Error);
  EXPECT_EQ(storage_dtype_from_config("bf16"), DType::BF16);
  EXPECT_THROW(storage_dtype_from_config("int4"), Error);
}

TEST(DType, Bf16DecodesKnownBitPatterns) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc020), -2.5f);
  EXPECT_EQ(bf16_to_f32(0x7f7f), from_bits(0x7f7f0000));  // largest finite
  EXPECT_EQ(bf16_to_f32(0x0001), std::ldexp(1.0f, -133));  // smallest subnormal
  EXPECT_EQ(bf16_to_f32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16_to_f32(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7fc0)));
  EXPECT_TRUE(std::signbit(bf16_to_f32(0x8000)));
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even below: down
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd below: up
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0x3f807fff)), 0x3f80);  // below the tie
  EXPECT_EQ(f32_to_bf16(from_bits(0xbf818000)), 0xbf82);  // sign-symmetric
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);  // subnormal tie, odd: up
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000)), 0x0000);  // subnormal tie, even: to zero
  EXPECT_EQ(f32_to_bf16(from_bits(0x007fffff)), 0x0080);  // largest subnormal -> min normal
}

TEST(DType, Bf16KeepsInfinityAndNanAndOverflowsToInfinity) {
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest bf16
  EXPECT_EQ(f32_to_bf16(from_bits(0x7f7f7fff)), 0x7f7f);              // just below that tie
  // A NaN whose payload lives only in the low bits must not truncate to infinity.
  for (uint32_t nan : {0x7f800001u, 0x7fc00000u, 0xff800001u, 0x7fffffffu}) {
    const uint16_t h = f32_to_bf16(from_bits(nan));
    EXPECT_TRUE(std::isnan(bf16_to_f32(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31) << "sign kept for " << std::hex << nan;
  }
}

TEST(DType, Bf16RoundTripsEveryPatternAndMatchesOracle) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
    } else {
      ASSERT_EQ(f32_to_bf16(f), h) << std::hex << h;
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = from_bits(rng());
    if (std::isnan(f) || std::isinf(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), bf16_oracle(f)) << std::hex << bits_of(f);
  }
}

TEST(DType, F16DecodesKnownBitPatterns) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc100), -2.5f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));    // min normal
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));    // min subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24)); // max subnormal
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7c01)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(DType, F16RoundsToNearestEvenIncludingSubnormals) {
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie, even below: down
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie, odd below: up
  EXPECT_EQ(f32_to_f16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);              // tie with zero: to even
  EXPECT_EQ(f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);              // 1.5 units: tie, up to even
  EXPECT_EQ(f32_to_f16(std::ldexp(5.0f, -25)), 0x0002);              // 2.5 units: tie, down to even
  EXPECT_EQ(f32_to_f16(-std::ldexp(3.0f, -25)), 0x8002);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25)), 0x0400);  // -> min normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -30)), 0x0000);
  EXPECT_TRUE(std::signbit(f16_to_f32(f32_to_f16(-std::ldexp(1.0f, -30)))));
}

TEST(DType, F16OverflowsToInfinityAndKeepsNan) {
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::nextafter(65520.0f, 0.0f)), 0x7bff);  // just below the tie
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                         // tie, odd below: up to inf
  EXPECT_EQ(f32_to_f16(-1e6f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  for (uint32_t nan : {0x7f800001u, 0x7fc00000u, 0xffc00000u}) {
    const uint16_t h = f32_to_f16(from_bits(nan));
    EXPECT_TRUE(std::isnan(f16_to_f32(h))) << std::hex << nan;
    EXPECT_EQ(h >> 15, nan >> 31);
  }
}

TEST(DType, F16RoundTripsEveryPatternAndMatchesCompilerConversion) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
    } else {
      ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
    }
  }
#ifdef __FLT16_MAX__
  std::mt19937 rng(11);
  for (int i = 0; i < 300000; ++i) {
    // Half the draws near fp16's range (|x| in [2^-26, 2^17]) where rounding is interesting.
    uint32_t b = rng();
    if (i % 2) b = (b & 0x807fffffu) | ((101u + (b >> 8) % 43u) << 23);
    const float f = from_bits(b);
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t ref_bits;
    std::memcpy(&ref_bits, &ref, 2);
    ASSERT_EQ(f32_to_f16(f), ref_bits) << std::hex << b;
    ASSERT_EQ(bits_of(f16_to_f32(ref_bits)), bits_of(static_cast<float>(ref))) << std::hex << ref_bits;
  }
#endif
}

TEST(DType, ConvertsArraysBothWays) {
  const std::vector<float> x = {0.5f, -3.0f, 1024.0f};
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<uint8_t> stored(x.size() * dtype_size(t));
    convert_from_f32(t, x.data(), stored.data(), x.size());
    std::vector<float> back(x.size());
    convert_to_f32(t, stored.data(), back.data(), x.size());
    EXPECT_EQ(back, x) << dtype_name(t);
  }
  const std::vector<int64_t> ids = {-7, 0, 123456};
  std::vector<float> out(3);
  convert_to_f32(DType::I64, ids.data(), out.data(), 3);
  EXPECT_EQ(out, (std::vector<float>{-7.0f, 0.0f, 123456.0f}));
  std::vector<int32_t> sink(3);
  EXPECT_THROW(convert_from_f32(DType::I32, x.data(), sink.data(), 3), Error);
}

// --- Stochastic rounding ------------------------------------------------------------------

uint16_t round_stochastically(DType t, float f, uint32_t bits) {
  return t == DType::BF16 ? f32_to_bf16_stochastic(f, bits) : f32_to_f16_stochastic(f, bits);
}
float decode(DType t, uint16_t h) { return t == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h); }

class StochasticRounding : public ::testing::TestWithParam<DType> {};

TEST_P(StochasticRounding, KeepsEveryValueTheFormatHoldsExactly) {
  const DType t = GetParam();
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const float f = decode(t, static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    for (uint32_t bits : {0u, 0xffffffffu, 0x80000000u, 0x12345678u})
      ASSERT_EQ(round_stochastically(t, f, bits), h) << std::hex << h << " bits " << bits;
  }
  EXPECT_TRUE(std::isnan(decode(t, round_stochastically(t, NAN, 0xffffffffu))));
}

// The two neighbours of f, toward and away from zero, by the nearest-rounding conversion.
std::pair<float, float> neighbours(DType t, float f) {
  const uint16_t nearest = t == DType::BF16 ? f32_to_bf16(f) : f32_to_f16(f);
  uint16_t toward = nearest;
  if (std::fabs(decode(t, toward)) > std::fabs(f)) --toward;
  return {decode(t, toward), decode(t, static_cast<uint16_t>(toward + 1))};
}

TEST_P(StochasticRounding, PicksANeighbourTowardZeroWithZeroBitsAndAwayWithOnes) {
  const DType t = GetParam();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> magnitude(-20.0f, 10.0f);  // 2^-20 .. 2^10
  for (int i = 0; i < 20000; ++i) {
    const float f = std::ldexp(1.0f + float(rng() % 8388607 + 1) / 8388608.0f, int(magnitude(rng))) *
                    (i % 2 ? -1.0f : 1.0f);
    const auto [toward, away] = neighbours(t, f);
    if (toward == f) continue;  // exact: covered above
    ASSERT_EQ(decode(t, round_stochastically(t, f, 0u)), toward) << f;
    ASSERT_EQ(decode(t, round_stochastically(t, f, 0xffffffffu)), away) << f;
    const float any = decode(t, round_stochastically(t, f, uint32_t(rng())));
    ASSERT_TRUE(any == toward || any == away) << f;
  }
}

// Over many draws of the Philox rounding bits the mean rounded value is the input: the
// fraction rounded away from zero is f's position between its neighbours. The seed is fixed,
// so the check is deterministic; the bound is 6 standard deviations of the binomial count.
TEST_P(StochasticRounding, ExpectedValueIsTheInput) {
  const DType t = GetParam();
  constexpr size_t kDraws = 1 << 16;
  const float inputs[] = {0.030029f + 3e-5f, -0.0312f, 1.0f + 1e-3f, 3.3e-6f, -7.77f, 1.5e-3f};
  for (float f : inputs) {
    const auto [toward, away] = neighbours(t, f);
    ASSERT_NE(toward, f);
    const std::vector<float> x(kDraws, f);
    std::vector<uint16_t> stored(kDraws);
    convert_from_f32_stochastic(t, x.data(), stored.data(), kDraws, 0x5eed, 7);
    double sum = 0;
    size_t up = 0;
    for (uint16_t h : stored) {
      const float r = decode(t, h);
      ASSERT_TRUE(r == toward || r == away) << f;
      sum += r;
      up += r == away;
    }
    const double p = (double(f) - toward) / (double(away) - toward);
    const double sigma = std::sqrt(p * (1 - p) / kDraws);
    EXPECT_NEAR(double(up) / kDraws, p, 6 * sigma + 1e-6) << dtype_name(t) << " " << f;
    EXPECT_NEAR(sum / kDraws, f, (6 * sigma + 1e-6) * std::fabs(double(away) - toward)) << dtype_name(t) << " " << f;
  }
}

// The case that motivates it: a bf16 weight of 0.03 receiving 200 updates of +3e-5 (a quarter
// of an ulp) stays at 0.03 when rounded to nearest and ends near 0.036 when rounded
// stochastically. 4096 such weights, each rounded with its own Philox bits per update.
TEST_P(StochasticRounding, SmallUpdatesAccumulateWhereNearestRoundingDropsThem) {
  const DType t = GetParam();
  constexpr size_t kWeights = 4096;
  constexpr int kUpdates = 200;
  constexpr float kStep = 3e-5f;
  std::vector<uint16_t> nearest(kWeights), stochastic(kWeights);
  const std::vector<float> start(kWeights, 0.03f);
  convert_from_f32(t, start.data(), nearest.data(), kWeights);
  stochastic = nearest;
  const float w0 = decode(t, nearest[0]);
  std::vector<float> w(kWeights);
  for (int u = 0; u < kUpdates; ++u) {
    for (size_t i = 0; i < kWeights; ++i) w[i] = decode(t, nearest[i]) + kStep;
    convert_from_f32(t, w.data(), nearest.data(), kWeights);
    for (size_t i = 0; i < kWeights; ++i) w[i] = decode(t, stochastic[i]) + kStep;
    convert_from_f32_stochastic(t, w.data(), stochastic.data(), kWeights, 1000 + u, 3);
  }
  double mean = 0;
  for (uint16_t h : stochastic) mean += decode(t, h) / kWeights;
  // Each weight's rounding noise is at most sqrt(200)·ulp/2 = 1.7e-3 (ulp 2.4e-4 above
  // 2^-5), so the mean's is at most 2.7e-5: the bound is 5.5 of those.
  EXPECT_NEAR(mean, w0 + kUpdates * kStep, 1.5e-4) << dtype_name(t);
  if (t == DType::BF16) {
    EXPECT_EQ(decode(t, nearest[0]), w0);  // fp16's ulp is 1.5e-5 here: nearest moves it too
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, StochasticRounding, ::testing::Values(DType::BF16, DType::F16),
                         [](const auto& info) { return dtype_name(info.param); });

TEST(DType, StochasticConversionOfArraysIsAPureFunctionOfSeedAndStream) {
  std::mt19937 rng(9);
  std::vector<float> x(1001);
  for (float& v : x) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
  for (DType t : {DType::BF16, DType::F16}) {
    std::vector<uint16_t> a(x.size()), b(x.size()), other(x.size());
    convert_from_f32_stochastic(t, x.data(), a.data(), x.size(), 42, 3);
    convert_from_f32_stochastic(t, x.data(), b.data(), x.size(), 42, 3);
    convert_from_f32_stochastic(t, x.data(), other.data(), x.size(), 42, 4);
    EXPECT_EQ(a, b) << dtype_name(t);
    EXPECT_NE(a, other) << dtype_name(t);
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(a[i], round_stochastically(t, x[i], philox_rounding_bits(42, 3, i))) << i;
  }
  std::vector<float> f32(x.size());
  convert_from_f32_stochastic(DType::F32, x.data(), f32.data(), x.size(), 42, 3);
  EXPECT_EQ(f32, x);
  std::vector<int32_t> sink(3);
  EXPECT_THROW(convert_from_f32_stochastic(DType::I32, x.data(), sink.data(), 3, 1, 1), Error);
}

}  // namespace
}  // namespace qzo
