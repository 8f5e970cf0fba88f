// Specification of the fp32 <-> bf16/fp16 conversions: known bit patterns, round to nearest
// even, subnormals, inf/NaN, overflow; exhaustive round trips; and agreement with the
// compiler's own _Float16 conversion and a double-precision nearest-value oracle for bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "framework/core/dtype.h"
#include "framework/core/error.h"

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

}  // namespace
}  // namespace qzo
