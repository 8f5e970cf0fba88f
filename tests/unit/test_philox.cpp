// Philox-4x32-10 against Random123's known answers, and the Gaussian z(seed, stream, index)
// that every ZO perturbation is drawn from: determinism, bulk == scalar, moments, independence.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/philox.h"

namespace qzo {
namespace {

void expect_block(PhiloxCounter ctr, PhiloxKey key, PhiloxCounter want) {
  const PhiloxCounter got = philox4x32_10(ctr, key);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got.w[i], want.w[i]) << "word " << i;
}

TEST(Philox, MatchesRandom123KnownAnswerVectors) {
  expect_block({{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
  expect_block({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, {{0xffffffffu, 0xffffffffu}},
               {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
  expect_block({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, {{0xa4093822u, 0x299f31d0u}},
               {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST(Philox, NormalFollowsTheDocumentedCounterLayout) {
  // key = seed split low/high, counter = (index/4 low, index/4 high, stream, 0), lane index%4,
  // Box-Muller on words (0,1) and (2,3). An index above 2^34 exercises the high counter word.
  const uint64_t seed = 0x0123456789abcdefull;
  const uint32_t stream = 77;
  for (uint64_t index : {uint64_t(0), uint64_t(5), uint64_t(1) << 35 | 3u}) {
    const uint64_t block = index / 4;
    const PhiloxCounter x = philox4x32_10({{uint32_t(block), uint32_t(block >> 32), stream, 0u}},
                                          {{0x89abcdefu, 0x01234567u}});
    float z[4];
    philox_box_muller(x.w[0], x.w[1], &z[0], &z[1]);
    philox_box_muller(x.w[2], x.w[3], &z[2], &z[3]);
    EXPECT_EQ(philox_normal(seed, stream, index), z[index % 4]) << "index " << index;
  }
  // Box-Muller itself: radius from the first word, angle from the second.
  float z0, z1;
  philox_box_muller(0x80000000u, 0u, &z0, &z1);  // u_r = 1/2 + 2^-24, angle ~ 0
  EXPECT_NEAR(z0, std::sqrt(-2.0 * std::log(0.5 + std::ldexp(1.0, -24))), 1e-6);
  EXPECT_NEAR(z1, 0.0, 1e-5);
}

TEST(Philox, NormalIsAPureFunctionOfSeedStreamIndex) {
  std::vector<float> a(1000), b(1000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = philox_normal(7, 3, 100 + i);
  philox_normal_fill(7, 3, 100, b.size(), b.data());  // unrelated calls in between
  for (size_t i = a.size(); i-- > 0;) EXPECT_EQ(philox_normal(7, 3, 100 + i), a[i]);
  philox_normal_fill(7, 3, 100, b.size(), b.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(philox_normal(7, 3, 100), philox_normal(7, 4, 100));
  EXPECT_NE(philox_normal(7, 3, 100), philox_normal(8, 3, 100));
  EXPECT_NE(philox_normal(7, 3, 100), philox_normal(7ull | (1ull << 40), 3, 100));
}

TEST(Philox, BulkFillEqualsScalarBitForBitAtOddOffsetsAndLengths) {
  const uint64_t firsts[] = {0, 1, 2, 3, 5, 63, 64, 65, 1001, (uint64_t(1) << 33) - 2};
  const size_t lengths[] = {0, 1, 2, 3, 4, 5, 7, 63, 64, 65, 255, 1027};
  for (uint64_t first : firsts) {
    for (size_t n : lengths) {
      std::vector<float> bulk(n + 2, -123.0f);
      philox_normal_fill(99, 5, first, n, bulk.data() + 1);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(bulk[i + 1], philox_normal(99, 5, first + i)) << "first " << first << " i " << i;
      EXPECT_EQ(bulk[0], -123.0f);
      EXPECT_EQ(bulk[n + 1], -123.0f) << "wrote past n = " << n;
    }
  }
  // The threaded path (large n) agrees too.
  const size_t n = (size_t(1) << 17) + 3;
  std::vector<float> big(n);
  philox_normal_fill(1, 2, 3, n, big.data());
  for (size_t i = 0; i < n; i += 997) ASSERT_EQ(big[i], philox_normal(1, 2, 3 + i));
  EXPECT_EQ(big[n - 1], philox_normal(1, 2, 3 + n - 1));
}

TEST(Philox, NormalHasStandardMomentsOnAMillionSamples) {
  const size_t n = 1000000;
  std::vector<float> z(n);
  philox_normal_fill(2024, 0, 0, n, z.data());
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  size_t within_1 = 0, within_2 = 0;
  for (float v : z) {
    ASSERT_TRUE(std::isfinite(v));
    const double d = v;
    m1 += d;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    within_1 += std::fabs(d) < 1.0;
    within_2 += std::fabs(d) < 2.0;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  // Bounds are about 5 standard errors for n = 1e6.
  EXPECT_NEAR(m1, 0.0, 0.005);
  EXPECT_NEAR(m2, 1.0, 0.008);
  EXPECT_NEAR(m3, 0.0, 0.02);
  EXPECT_NEAR(m4, 3.0, 0.05);
  EXPECT_NEAR(double(within_1) / n, 0.682689, 0.0025);
  EXPECT_NEAR(double(within_2) / n, 0.954500, 0.0011);
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sa += a[i], sb += b[i], sab += double(a[i]) * b[i];
    saa += double(a[i]) * a[i], sbb += double(b[i]) * b[i];
  }
  const double n = double(a.size());
  return (sab / n - sa / n * sb / n) /
         std::sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

TEST(Philox, DifferentStreamsSeedsAndNeighboursAreUncorrelated) {
  const size_t n = 200000;
  const double bound = 5.0 / std::sqrt(double(n));
  std::vector<float> base(n + 1), other(n);
  philox_normal_fill(11, 0, 0, n + 1, base.data());
  std::vector<float> head(base.begin(), base.end() - 1), lag1(base.begin() + 1, base.end());
  philox_normal_fill(11, 1, 0, n, other.data());
  EXPECT_LT(std::fabs(correlation(head, other)), bound) << "streams 0 and 1";
  philox_normal_fill(12, 0, 0, n, other.data());
  EXPECT_LT(std::fabs(correlation(head, other)), bound) << "seeds 11 and 12";
  philox_normal_fill(11ull + (1ull << 32), 0, 0, n, other.data());
  EXPECT_LT(std::fabs(correlation(head, other)), bound) << "seeds differing in the high word";
  EXPECT_LT(std::fabs(correlation(head, lag1)), bound) << "neighbouring indices";
  // The two normals of one Box-Muller pair: uncorrelated, and jointly rotation-invariant.
  std::vector<float> even(n / 2), odd(n / 2);
  for (size_t i = 0; i < n / 2; ++i) even[i] = base[2 * i], odd[i] = base[2 * i + 1];
  EXPECT_LT(std::fabs(correlation(even, odd)), 5.0 / std::sqrt(double(n / 2)));
}

TEST(Philox, LogAndTrigMatchLibmOnTheUniformGrid) {
  double worst_log = 0, worst_trig = 0;
  for (uint32_t bits = 0; bits < 0xFFFFFE00u; bits += 4093u * 512u) {
    const float u = philox_open_uniform(bits);
    ASSERT_GT(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    const double ref = std::log(double(u));
    worst_log = std::max(worst_log, std::fabs(philox_log(u) - ref) / std::fabs(ref));
    float c, s;
    philox_cos_sin_turns(u, &c, &s);
    const double a = 6.283185307179586 * double(u);
    worst_trig = std::max({worst_trig, std::fabs(c - std::cos(a)), std::fabs(s - std::sin(a))});
  }
  EXPECT_LT(worst_log, 4e-7);
  EXPECT_LT(worst_trig, 3e-7);
  // The extremes of the uniform map stay finite.
  EXPECT_EQ(philox_open_uniform(0u), std::ldexp(1.0f, -24));
  EXPECT_EQ(philox_open_uniform(0xFFFFFFFFu), 1.0f - std::ldexp(1.0f, -24));
  float z0, z1;
  philox_box_muller(0u, 0xFFFFFFFFu, &z0, &z1);
  EXPECT_TRUE(std::isfinite(z0) && std::isfinite(z1));
  EXPECT_NEAR(std::hypot(z0, z1), std::sqrt(24.0 * 2.0 * std::log(2.0)), 1e-5);
}

}  // namespace
}  // namespace qzo
