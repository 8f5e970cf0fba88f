// The CUDA kernels' per-element math (kernels/cuda/*_math.h, philox_blocks.h) run on the host
// over the kernels' own index spaces and compared with the CPU reference: bit for bit where the
// ops promise it (z, dequantization, the scale update, MeZO's reads) and wherever the kernel does
// the CPU's operations in the CPU's order (most of the backward), nmse where a sum's order
// differs. Needs no GPU and no CUDA headers, so CI checks the device math on every build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cuda/backward_math.h"
#include "kernels/cuda/dense_read_math.h"
#include "kernels/cuda/dequantize_math.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/philox_blocks.h"
#include "kernels/cuda/zo_update_math.h"
#include "kernels/fp32_exp.h"
#include "kernels/scale_perturbation.h"
#include "kernels/double_quant.h"
#include "kernels/nf4.h"
#include "kernels/packing.h"
#include "tests/unit/nmse.h"

namespace qzo {
namespace {

using testing::nmse;

void expect_bitwise_equal(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t g, w;
    std::memcpy(&g, &got[i], 4);
    std::memcpy(&w, &want[i], 4);
    ASSERT_EQ(g, w) << "element " << i << ": " << got[i] << " vs " << want[i];
  }
}

std::vector<float> random_floats(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// ---- z and the ZO updates ------------------------------------------------------------------

// The fill kernel: thread b owns counter block first_block + b.
std::vector<float> fill_as_kernel(uint64_t seed, uint32_t stream, uint64_t first, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  const uint64_t end = first + uint64_t(n);
  for (uint64_t b = 0; b < philox_block_count(first, end); ++b)
    philox_block_normals(philox_key(seed), stream, first_philox_block(first) + b, first, end,
                         [&](uint64_t i, float z) { out[i - first] = z; });
  return out;
}

TEST(CudaMath, PhiloxFillMatchesCpuBitForBitFromAnyOffset) {
  for (uint64_t first : {uint64_t(0), uint64_t(3), uint64_t(6), (uint64_t(1) << 34) + 1}) {
    for (int64_t n : {int64_t(1), int64_t(2), int64_t(1001)}) {
      std::vector<float> want(static_cast<size_t>(n));
      cpu::philox_normal_fill(want.data(), 0xfeedbeefcafe1234ull, 9, first, n);
      expect_bitwise_equal(fill_as_kernel(0xfeedbeefcafe1234ull, 9, first, n), want);
    }
  }
}

// The in-place ZO kernels: thread b owns elements 4b .. 4b+3 of the tensor.
template <typename Update>
void update_as_kernel(std::vector<float>& x, uint64_t seed, uint32_t stream, Update update) {
  const uint64_t n = x.size();
  for (uint64_t b = 0; b < philox_block_count(0, n); ++b)
    philox_block_normals(philox_key(seed), stream, b, 0, n, [&](uint64_t i, float z) { x[i] = update(x[i], z); });
}

TEST(CudaMath, ScaleUpdateMatchesCpuBitForBitIncludingTheFloor) {
  std::mt19937 rng(1);
  std::vector<float> scales = random_floats(rng, 4099, 0.0f, 0.02f);
  scales[0] = 0.0f;  // at the floor
  scales[1] = -0.0f;
  for (float step : {0.0f, 3e-3f, -1e-2f}) {
    std::vector<float> want = scales, got = scales;
    cpu::scale_update(want.data(), int64_t(want.size()), 42, 5, step, 1e-3f);
    update_as_kernel(got, 42, 5, [&](float s, float z) { return updated_scale(s, step, z, 1e-3f); });
    expect_bitwise_equal(got, want);
  }
}

// qzo's exp, which both backends share bit for bit: within 2 ulp of the double exp over the
// range the perturbation and the update use (and far beyond), exactly 1 at ±0.
TEST(CudaMath, Fp32ExpIsWithinTwoUlpOfExp) {
  EXPECT_EQ(exp_fp32(0.0f), 1.0f);
  EXPECT_EQ(exp_fp32(-0.0f), 1.0f);
  double worst = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = float(i) * 4e-4f;  // [-80, 80]
    const double want = std::exp(double(x));
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    worst = std::max(worst, std::fabs(double(exp_fp32(x)) - want) / ulp);
  }
  EXPECT_LT(worst, 2.0);
  EXPECT_TRUE(std::isfinite(exp_fp32(1000.0f)));
  EXPECT_GT(exp_fp32(-1000.0f), 0.0f);
}

// S·exp(step·z): the same expression on both paths; step ±0 (lr = 0) leaves every bit.
TEST(CudaMath, LogScaleUpdateMatchesCpuBitForBit) {
  std::mt19937 rng(6);
  const std::vector<float> scales = random_floats(rng, 4099, 1e-3f, 0.02f);
  for (float step : {0.0f, -0.0f, 3e-2f, -0.5f}) {
    std::vector<float> want = scales, got = scales;
    cpu::scale_update_log(want.data(), int64_t(want.size()), 42, 5, step);
    update_as_kernel(got, 42, 5, [&](float s, float z) { return log_updated_scale(s, step, z); });
    expect_bitwise_equal(got, want);
    if (step == 0.0f) expect_bitwise_equal(want, scales);
  }
}

TEST(CudaMath, ZoAxpyMatchesCpuBitForBit) {
  std::mt19937 rng(2);
  const std::vector<float> w = random_floats(rng, 1027, -1.0f, 1.0f);
  std::vector<float> want = w, got = w;
  cpu::zo_axpy(want.data(), int64_t(want.size()), 7, 3, 0.999f, -2e-4f);
  update_as_kernel(got, 7, 3, [](float v, float z) { return zo_axpy_element(v, 0.999f, -2e-4f, z); });
  expect_bitwise_equal(got, want);
}

// lr = 0 runs the update with step ±0: both the kernel math and the CPU op leave every bit of
// w in place, −0 included (fma(1, −0, +0) alone would give +0).
TEST(CudaMath, ZoAxpyWithZeroStepLeavesEveryBitOnBothPaths) {
  std::mt19937 rng(4);
  std::vector<float> w = random_floats(rng, 1027, -1.0f, 1.0f);
  w[0] = -0.0f;
  w[1] = 0.0f;
  w[5] = -0.0f;
  for (float step : {0.0f, -0.0f}) {
    std::vector<float> cpu_w = w, kernel_w = w;
    cpu::zo_axpy(cpu_w.data(), int64_t(cpu_w.size()), 7, 3, 1.0f, step);
    update_as_kernel(kernel_w, 7, 3, [&](float v, float z) { return zo_axpy_element(v, 1.0f, step, z); });
    expect_bitwise_equal(cpu_w, w);
    expect_bitwise_equal(kernel_w, w);
  }
}

TEST(CudaMath, DenseReadMatchesCpuBitForBitForEveryStoredDtype) {
  std::mt19937 rng(3);
  const std::vector<float> values = random_floats(rng, 1030, -2.0f, 2.0f);
  std::vector<uint16_t> bf16(values.size()), f16(values.size());
  convert_from_f32(DType::BF16, values.data(), bf16.data(), values.size());
  convert_from_f32(DType::F16, values.data(), f16.data(), values.size());
  const ZoPerturbation p{11, 4, -1e-3f};
  for (const DenseWeightView& view : {DenseWeightView{DType::F32, values.data(), values.size()},
                                      DenseWeightView{DType::BF16, bf16.data(), bf16.size()},
                                      DenseWeightView{DType::F16, f16.data(), f16.size()}}) {
    for (const ZoPerturbation* perturbation : {static_cast<const ZoPerturbation*>(nullptr), &p}) {
      std::vector<float> want(view.numel), got(view.numel);
      cpu::dense_read(want.data(), view, perturbation);
      for (size_t i = 0; i < view.numel; ++i) got[i] = load_weight_f32(view.dtype, view.values, int64_t(i));
      if (perturbation)
        update_as_kernel(got, p.seed, p.stream, [&](float w, float z) { return perturbed_weight(w, p.signed_eps, z); });
      expect_bitwise_equal(got, want);
    }
  }
}

TEST(CudaMath, EmbeddingLookupThroughAnOperandMatchesCpuBitForBit) {
  std::mt19937 rng(8);
  const int V = 50, D = 36, n = 23;
  const std::vector<float> table = random_floats(rng, size_t(V) * D, -1.0f, 1.0f);
  std::vector<uint16_t> bf16(table.size());
  convert_from_f32(DType::BF16, table.data(), bf16.data(), table.size());
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = int32_t(rng() % V);
  const ZoPerturbation p{21, 7, 1e-3f};
  for (const WeightOperand& base : {WeightOperand::of_dense(DType::F32, table.data(), table.size()),
                                    WeightOperand::of_dense(DType::BF16, bf16.data(), bf16.size())})
    for (const WeightOperand& w : {base, base.with_perturbation(p)}) {
      std::vector<float> want(size_t(n) * D), got(want.size());
      cpu::embedding_lookup(want.data(), tokens.data(), w, n, D);
      for (int64_t i = 0; i < int64_t(got.size()); ++i)
        got[i] = embedding_element(tokens.data(), w.dense, w.perturbed ? &w.perturbation : nullptr, D, i);
      expect_bitwise_equal(got, want);
    }
}

TEST(CudaMath, Bf16StoreRoundsToNearestEven) {
  uint16_t out = 0;
  store_element(&out, 0, 1.0f + 1.0f / 256.0f);  // halfway between two bf16 values: to even
  EXPECT_EQ(out, 0x3F80);
  store_element(&out, 0, 1.0f + 3.0f / 256.0f);
  EXPECT_EQ(out, 0x3F82);
}

TEST(CudaMath, AdamWMatchesCpu) {
  std::mt19937 rng(4);
  const size_t n = 777;
  const std::vector<float> w0 = random_floats(rng, n, -1, 1), g = random_floats(rng, n, -1, 1);
  const std::vector<float> m0 = random_floats(rng, n, -0.1f, 0.1f), v0 = random_floats(rng, n, 0, 0.01f);
  std::vector<float> w = w0, m = m0, v = v0;
  cpu::adamw_update(w.data(), g.data(), m.data(), v.data(), int64_t(n), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.19f,
                    0.002f);
  std::vector<float> gw = w0, gm = m0, gv = v0;
  for (size_t i = 0; i < n; ++i) {
    AdamWMoments mv{gm[i], gv[i]};
    gw[i] = adamw_element(gw[i], g[i], mv, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.19f, 0.002f);
    gm[i] = mv.m;
    gv[i] = mv.v;
  }
  EXPECT_LT(nmse(gw, w), 1e-12);
  EXPECT_LT(nmse(gm, m), 1e-12);
  EXPECT_LT(nmse(gv, v), 1e-12);
}

// ---- dequantization ------------------------------------------------------------------------

struct QuantizedFixture {
  std::vector<uint8_t> packed, zero_points, absmax_codes;
  std::vector<float> scales, absmax2, codebooks;
  std::vector<int32_t> g_idx;
  QuantizedWeightView view;
};

// Codebook rows get 2^bits random levels in [-1, 1]; act_order maps a random permutation of
// the columns onto the groups, group_size columns each (GPTQ's desc_act).
QuantizedFixture random_quantized(int out_features, int in_features, int group_size, int bits, CodeFormat format,
                                  uint32_t seed, bool act_order = false) {
  std::mt19937 rng(seed);
  QuantizedFixture f;
  const int groups = in_features / group_size;
  const size_t row_bytes = packed_bytes(size_t(in_features), bits);
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  std::vector<uint8_t> codes(static_cast<size_t>(in_features));
  f.packed.resize(row_bytes * size_t(out_features));
  for (int r = 0; r < out_features; ++r) {
    for (uint8_t& c : codes) c = uint8_t(code(rng));
    pack_codes(codes.data(), codes.size(), bits, f.packed.data() + size_t(r) * row_bytes);
  }
  f.scales = random_floats(rng, size_t(out_features) * groups, 1e-3f, 2e-2f);
  if (format == CodeFormat::Scalar)
    for (int j = 0; j < out_features * groups; ++j) f.zero_points.push_back(uint8_t(code(rng)));
  if (format == CodeFormat::Codebook) f.codebooks = random_floats(rng, size_t(out_features) << bits, -1.0f, 1.0f);
  if (act_order) {
    std::vector<int> perm(static_cast<size_t>(in_features));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    f.g_idx.resize(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) f.g_idx[size_t(perm[i])] = int32_t(i / size_t(group_size));
  }
  f.view = {out_features, in_features, group_size, bits, format, row_bytes, f.packed.data(),
            format == CodeFormat::Scalar ? f.zero_points.data() : nullptr, f.scales.data(), NibbleOrder::LowFirst, {}};
  f.view.codebooks = f.codebooks.empty() ? nullptr : f.codebooks.data();
  f.view.g_idx = f.g_idx.empty() ? nullptr : f.g_idx.data();
  return f;
}

// NF4 in bitsandbytes' layout: high-nibble-first codes, random 8-bit absmax codes over several
// 256-code blocks (the last one partial), per-block absmax2 and a mean offset.
QuantizedFixture random_double_quantized(int out_features, int in_features, int group_size, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedFixture f;
  const size_t row_bytes = packed_bytes(size_t(in_features), 4), n_absmax = size_t(out_features) * (in_features / group_size);
  std::uniform_int_distribution<int> code(0, 15), byte(0, 255);
  std::vector<uint8_t> codes(static_cast<size_t>(in_features));
  f.packed.resize(row_bytes * size_t(out_features));
  for (int r = 0; r < out_features; ++r) {
    for (uint8_t& c : codes) c = uint8_t(code(rng));
    pack_codes(codes.data(), codes.size(), 4, f.packed.data() + size_t(r) * row_bytes, NibbleOrder::HighFirst);
  }
  for (size_t j = 0; j < n_absmax; ++j) f.absmax_codes.push_back(uint8_t(byte(rng)));
  f.absmax2 = random_floats(rng, (n_absmax + kDoubleQuantBlock - 1) / kDoubleQuantBlock, 1e-3f, 5e-3f);
  f.view = {out_features, in_features, group_size, 4, CodeFormat::Nf4, row_bytes, f.packed.data(), nullptr, nullptr,
            NibbleOrder::HighFirst, {f.absmax_codes.data(), f.absmax2.data(), 8e-3f}};
  return f;
}

// The dequantize kernel, block by block: stage the tile's scales, then every weight of the tile.
std::vector<float> dequantize_as_kernel(const QuantizedWeightView& w, const ZoPerturbation* p) {
  std::vector<float> out(w.numel());
  const int groups = w.groups_per_row(), tile_rows = dequantize_tile_rows(w.in_features);
  std::vector<float> staged(size_t(tile_rows) * groups);
  for (int r0 = 0; r0 < w.out_features; r0 += tile_rows) {
    const int rows = std::min(tile_rows, w.out_features - r0);
    const uint64_t j0 = uint64_t(r0) * groups, j1 = j0 + uint64_t(rows) * groups;
    if (p) {
      for (uint64_t b = 0; b < philox_block_count(j0, j1); ++b)
        philox_block_normals(philox_key(p->seed), p->stream, first_philox_block(j0) + b, j0, j1,
                             [&](uint64_t j, float z) { staged[j - j0] = perturbed_scale(w.scales[j], *p, z); });
    } else {
      for (uint64_t j = j0; j < j1; ++j) staged[j - j0] = stored_scale(w, j, kSignedDynamicMap.value);
    }
    for (int64_t e = 0; e < int64_t(rows) * w.in_features; ++e)
      out[size_t(r0) * w.in_features + size_t(e)] = tile_weight(w, r0, e, staged.data(), kNf4Codebook);
  }
  return out;
}

// 200 rows span several tiles, the last one partial; odd group counts put tile starts off the
// Philox block grid; an odd group size makes 4-bit groups straddle bytes.
void expect_dequantize_matches_cpu(int in_features, int group_size, int bits, CodeFormat format, bool perturbed,
                                   bool multiplicative = false, bool act_order = false) {
  const QuantizedFixture f =
      random_quantized(200, in_features, group_size, bits, format, uint32_t(bits * 31 + in_features), act_order);
  const ZoPerturbation p{0x5eed, 17, multiplicative ? -0.05f : -3e-3f, multiplicative};
  std::vector<float> want(f.view.numel());
  cpu::dequantize(want.data(), f.view, perturbed ? &p : nullptr);
  expect_bitwise_equal(dequantize_as_kernel(f.view, perturbed ? &p : nullptr), want);
}

TEST(CudaMath, DequantizeRtn2MatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 2, CodeFormat::Scalar, false); }
TEST(CudaMath, DequantizeRtn2PerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 2, CodeFormat::Scalar, true); }
TEST(CudaMath, DequantizeRtn3MatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 3, CodeFormat::Scalar, false); }
TEST(CudaMath, DequantizeRtn3PerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(80, 16, 3, CodeFormat::Scalar, true); }
TEST(CudaMath, DequantizeRtn4MatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 4, CodeFormat::Scalar, false); }
TEST(CudaMath, DequantizeRtn4PerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 4, CodeFormat::Scalar, true); }
TEST(CudaMath, DequantizeRtn4OddGroupsPerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(45, 9, 4, CodeFormat::Scalar, true); }
TEST(CudaMath, DequantizeRtn8MatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 8, CodeFormat::Scalar, false); }
TEST(CudaMath, DequantizeRtn8PerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 8, CodeFormat::Scalar, true); }
TEST(CudaMath, DequantizeNf4MatchesCpuBitForBit) { expect_dequantize_matches_cpu(128, 64, 4, CodeFormat::Nf4, false); }
TEST(CudaMath, DequantizeNf4PerturbedMatchesCpuBitForBit) { expect_dequantize_matches_cpu(96, 32, 4, CodeFormat::Nf4, true); }
TEST(CudaMath, DequantizeMultiplicativePerturbationMatchesCpuBitForBit) {
  expect_dequantize_matches_cpu(96, 32, 4, CodeFormat::Scalar, true, true);
  expect_dequantize_matches_cpu(80, 16, 3, CodeFormat::Scalar, true, true);
  expect_dequantize_matches_cpu(96, 32, 4, CodeFormat::Nf4, true, true);
}
TEST(CudaMath, DequantizeActOrderMatchesCpuBitForBit) {
  for (int bits : {2, 3, 4, 8}) {
    SCOPED_TRACE(bits);
    expect_dequantize_matches_cpu(96, 16, bits, CodeFormat::Scalar, false, false, true);
    expect_dequantize_matches_cpu(96, 16, bits, CodeFormat::Scalar, true, bits == 3, true);
  }
}
TEST(CudaMath, DequantizeCodebookMatchesCpuBitForBit) {
  for (int bits : {2, 3, 4}) {
    SCOPED_TRACE(bits);
    expect_dequantize_matches_cpu(96, 96, bits, CodeFormat::Codebook, false);
    expect_dequantize_matches_cpu(80, 80, bits, CodeFormat::Codebook, true);
    expect_dequantize_matches_cpu(64, 64, bits, CodeFormat::Codebook, true, true);
  }
}
TEST(CudaMath, DequantizeWideRowsUseOneRowTiles) { expect_dequantize_matches_cpu(9000, 1000, 4, CodeFormat::Scalar, true); }

// Double-quantized NF4: 200 rows × 192 columns in blocks of 64 are 600 absmax codes, three
// second-level blocks; g = 7 puts groups across bytes (the CPU's unpacking path).
TEST(CudaMath, DequantizeNf4DoubleQuantMatchesCpuBitForBit) {
  for (const int group_size : {64, 16, 7}) {
    SCOPED_TRACE("group_size " + std::to_string(group_size));
    const QuantizedFixture f = random_double_quantized(200, group_size == 7 ? 189 : 192, group_size, 23);
    std::vector<float> want(f.view.numel());
    cpu::dequantize(want.data(), f.view, nullptr);
    expect_bitwise_equal(dequantize_as_kernel(f.view, nullptr), want);
  }
}

// ---- dense forward -------------------------------------------------------------------------

TEST(CudaMath, RmsnormMatchesCpu) {
  std::mt19937 rng(5);
  const int rows = 7, D = 300;
  const std::vector<float> x = random_floats(rng, size_t(rows) * D, -2, 2), w = random_floats(rng, D, 0.5f, 1.5f);
  std::vector<float> want(x.size()), want_rstd(rows), got(x.size()), got_rstd(rows);
  cpu::rmsnorm_forward(want.data(), want_rstd.data(), x.data(), w.data(), rows, D, 1e-6f);
  for (int r = 0; r < rows; ++r) {
    float sum_sq = 0.0f;
    for (int i = 0; i < D; ++i) sum_sq += x[size_t(r) * D + i] * x[size_t(r) * D + i];
    got_rstd[r] = rmsnorm_rstd(sum_sq, D, 1e-6f);
    for (int i = 0; i < D; ++i) got[size_t(r) * D + i] = rmsnorm_element(x[size_t(r) * D + i], got_rstd[r], w[i]);
  }
  EXPECT_LT(nmse(got, want), 1e-12);
  EXPECT_LT(nmse(got_rstd, want_rstd), 1e-12);
}

TEST(CudaMath, RopeMatchesCpu) {
  std::mt19937 rng(6);
  const int rows = 5, heads = 3, head_dim = 16, half = head_dim / 2, max_pos = 9;
  const std::vector<int32_t> positions = {0, 8, 3, 3, 1};
  const std::vector<float> cos_t = random_floats(rng, size_t(max_pos) * half, -1, 1);
  const std::vector<float> sin_t = random_floats(rng, size_t(max_pos) * half, -1, 1);
  std::vector<float> want = random_floats(rng, size_t(rows) * heads * head_dim, -1, 1), got = want;
  cpu::rope_forward(want.data(), positions.data(), cos_t.data(), sin_t.data(), rows, heads, head_dim);
  for (int64_t p = 0; p < int64_t(rows) * heads * half; ++p) {  // the kernel's pair index
    const int i = int(p % half);
    const int64_t row_head = p / half, table = int64_t(positions[size_t(row_head / heads)]) * half + i;
    float* v = got.data() + row_head * head_dim;
    rope_rotate(v[i], v[i + half], cos_t[size_t(table)], sin_t[size_t(table)]);
  }
  EXPECT_LT(nmse(got, want), 1e-12);
}

TEST(CudaMath, SwigluMatchesCpu) {
  std::mt19937 rng(7);
  const std::vector<float> g = random_floats(rng, 513, -6, 6), u = random_floats(rng, 513, -2, 2);
  std::vector<float> want(g.size()), got(g.size());
  cpu::swiglu_forward(want.data(), g.data(), u.data(), int64_t(g.size()));
  for (size_t i = 0; i < g.size(); ++i) got[i] = swiglu_element(g[i], u[i]);
  EXPECT_LT(nmse(got, want), 1e-12);
}

TEST(CudaMath, CrossEntropyLossGradientAndCandidateLogprobsMatchCpu) {
  std::mt19937 rng(8);
  const int rows = 4, V = 50, C = 3;
  const std::vector<float> logits = random_floats(rng, size_t(rows) * V, -5, 5);
  const std::vector<int32_t> targets = {0, 49, 7, 7}, candidates = {7, 1, 49};
  const std::vector<float> scale = {1.0f, 0.5f, 0.0f, 2.0f};
  std::vector<float> want_loss(rows), want_logits = logits, want_lp(size_t(rows) * C);
  cpu::cross_entropy_forward_backward(want_loss.data(), want_logits.data(), targets.data(), rows, V, nullptr);
  cpu::candidate_logprobs(want_lp.data(), logits.data(), want_loss.data(), targets.data(), candidates.data(), rows,
                          V, C);
  cpu::cross_entropy_forward_backward(want_loss.data(), want_logits.data(), targets.data(), rows, V, scale.data());
  std::vector<float> got_loss(rows), got_dlogits(logits.size()), got_lp(want_lp.size());
  for (int r = 0; r < rows; ++r) {
    const float* z = logits.data() + size_t(r) * V;
    float max_z = -INFINITY;
    for (int i = 0; i < V; ++i) max_z = std::fmax(max_z, z[i]);
    double sum = 0.0;
    for (int i = 0; i < V; ++i) sum += double(std::exp(z[i] - max_z));
    const double log_sum = std::log(sum) + double(max_z);
    got_loss[size_t(r)] = float(log_sum - double(z[targets[size_t(r)]]));
    for (int i = 0; i < V; ++i)
      got_dlogits[size_t(r) * V + i] = cross_entropy_dlogit(z[i], float(log_sum), scale[size_t(r)], i == targets[size_t(r)]);
    for (int c = 0; c < C; ++c)
      got_lp[size_t(r) * C + c] = candidate_logprob(z[candidates[size_t(c)]], z[targets[size_t(r)]], got_loss[size_t(r)]);
  }
  EXPECT_LT(nmse(got_loss, want_loss), 1e-12);
  EXPECT_LT(nmse(got_dlogits, want_logits), 1e-12);
  EXPECT_LT(nmse(got_lp, want_lp), 1e-12);
}

TEST(CudaMath, CausalSoftmaxWritesExactlyTheCpusVisiblePrefix) {
  // The CPU writes probs only where query t sees key j; the softmax kernel's visible_keys must agree.
  const int B = 1, Tq = 3, Tk = 5, H = 1, hd = 4;
  std::mt19937 rng(9);
  const std::vector<float> q = random_floats(rng, size_t(Tq) * hd, -1, 1), kv = random_floats(rng, size_t(Tk) * hd, -1, 1);
  std::vector<float> out(q.size()), probs(size_t(Tq) * Tk, NAN);
  cpu::attention_forward(out.data(), probs.data(), q.data(), kv.data(), kv.data(), B, Tq, Tk, H, H, hd);
  for (int t = 0; t < Tq; ++t)
    for (int j = 0; j < Tk; ++j) EXPECT_EQ(!std::isnan(probs[size_t(t) * Tk + j]), j < visible_keys(Tq, Tk, t)) << t << "," << j;
}

// ---- backward --------------------------------------------------------------------------------
// Here the helpers run where the CPU op runs, compiled alike, so doing the CPU's operations in the
// CPU's order gives its bits (but for one reduction in attention, said there). On a GPU nvcc may
// fuse a multiply and an add that the host keeps apart (or the reverse), which is why
// test_backend_ops bounds these by nmse, except where no multiply-add exists (the bias and
// embedding sums, dropout).

TEST(CudaMath, MatmulBiasGradientMatchesCpuBitForBit) {
  std::mt19937 rng(10);
  const int M = 37, N = 19;
  const std::vector<float> dout = random_floats(rng, size_t(M) * N, -1, 1), dbias0 = random_floats(rng, N, -1, 1);
  std::vector<float> want = dbias0, got = dbias0;
  cpu::matmul_backward(nullptr, nullptr, want.data(), dout.data(), nullptr, nullptr, M, 1, N, false);
  for (int n = 0; n < N; ++n) got[size_t(n)] += bias_gradient(dout.data(), M, N, n);  // the kernel's thread n
  expect_bitwise_equal(got, want);
}

// The row's Σ w·g·x is a block-tree reduction in the kernel and a SIMD reduction on the CPU, so
// dinp agrees to fp32 rounding of that sum (nmse 1e-12); dweight, a sum in row order, bit for bit.
TEST(CudaMath, RmsnormBackwardMatchesCpu) {
  std::mt19937 rng(11);
  const int rows = 7, D = 300;
  const std::vector<float> x = random_floats(rng, size_t(rows) * D, -2, 2), w = random_floats(rng, D, 0.5f, 1.5f);
  const std::vector<float> g = random_floats(rng, x.size(), -1, 1), dweight0 = random_floats(rng, D, -1, 1);
  const std::vector<float> dinp0 = random_floats(rng, x.size(), -1, 1);
  std::vector<float> y(x.size()), rstd(rows);
  cpu::rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, D, 1e-6f);
  for (bool accumulate : {false, true}) {
    SCOPED_TRACE(accumulate ? "accumulate" : "overwrite");
    std::vector<float> want_dx = dinp0, want_dw = dweight0, got_dx = dinp0, got_dw = dweight0;
    cpu::rmsnorm_backward(want_dx.data(), want_dw.data(), g.data(), x.data(), w.data(), rstd.data(), rows, D,
                          accumulate);
    for (int i = 0; i < D; ++i)  // the dweight kernel's thread i
      got_dw[size_t(i)] = rmsnorm_dweight_feature(got_dw[size_t(i)], g.data(), x.data(), rstd.data(), rows, D, i);
    for (int r = 0; r < rows; ++r) {  // the dinp kernel's block r
      const size_t o = size_t(r) * D;
      float dot = 0.0f;
      for (int i = 0; i < D; ++i) dot += rmsnorm_dot_term(w[size_t(i)], g[o + i], x[o + i]);
      const float c = rmsnorm_backward_coefficient(dot, rstd[size_t(r)], D);
      for (int i = 0; i < D; ++i) {
        const float d = rmsnorm_dinp_element(x[o + i], g[o + i], w[size_t(i)], rstd[size_t(r)], c);
        got_dx[o + i] = accumulate ? got_dx[o + i] + d : d;
      }
    }
    // Not bitwise: whether g·x·s += is contracted into an FMA depends on the build's flags
    // (the ASan build differs from the release build by one ulp here), on either side.
    EXPECT_LT(nmse(got_dw, want_dw), 1e-12);
    EXPECT_LT(nmse(got_dx, want_dx), 1e-12);
  }
}

TEST(CudaMath, RopeBackwardMatchesCpuBitForBit) {
  std::mt19937 rng(12);
  const int rows = 5, heads = 3, head_dim = 16, half = head_dim / 2, max_pos = 9;
  const std::vector<int32_t> positions = {0, 8, 3, 3, 1};
  const std::vector<float> cos_t = random_floats(rng, size_t(max_pos) * half, -1, 1);
  const std::vector<float> sin_t = random_floats(rng, size_t(max_pos) * half, -1, 1);
  std::vector<float> want = random_floats(rng, size_t(rows) * heads * head_dim, -1, 1), got = want;
  cpu::rope_backward(want.data(), positions.data(), cos_t.data(), sin_t.data(), rows, heads, head_dim);
  for (int64_t p = 0; p < int64_t(rows) * heads * half; ++p) {  // the kernel's pair index
    const int i = int(p % half);
    const int64_t row_head = p / half, table = int64_t(positions[size_t(row_head / heads)]) * half + i;
    float* v = got.data() + row_head * head_dim;
    rope_unrotate(v[i], v[i + half], cos_t[size_t(table)], sin_t[size_t(table)]);
  }
  expect_bitwise_equal(got, want);
}

// The three passes of attention_backward.cu over their index spaces (the chunking of pass 2 and
// 3 only splits loops, it does not reorder them). probs past each row's visible prefix are NaN,
// as the forward leaves them unwritten: neither path may read them. dv (sums of p·dout) agrees
// bit for bit. dq and dk go through Σ_j p_j·dp_j, whose multiply-adds GCC (-march=native) fuses
// in some iterations and not others depending on how it unrolls or vectorizes that reduction,
// so those two are bounded by nmse 1e-12 (fp32 rounding of the same operations in the same order).
TEST(CudaMath, AttentionBackwardMatchesCpu) {
  std::mt19937 rng(13);
  const int B = 2, T = 7, Hq = 4, Hkv = 2, hd = 16, group = Hq / Hkv;
  const int64_t q_stride = int64_t(Hq) * hd, kv_stride = int64_t(Hkv) * hd;
  const std::vector<float> q = random_floats(rng, size_t(B) * T * q_stride, -1, 1);
  const std::vector<float> k = random_floats(rng, size_t(B) * T * kv_stride, -1, 1);
  const std::vector<float> v = random_floats(rng, k.size(), -1, 1), dout = random_floats(rng, q.size(), -1, 1);
  std::vector<float> out(q.size()), probs(size_t(B) * Hq * T * T, NAN);
  cpu::attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), B, T, T, Hq, Hkv, hd);
  std::vector<float> want_dq(q.size(), NAN), want_dk(k.size(), NAN), want_dv(k.size(), NAN);
  cpu::attention_backward(want_dq.data(), want_dk.data(), want_dv.data(), dout.data(), q.data(), k.data(), v.data(),
                          probs.data(), B, T, Hq, Hkv, hd);

  const float scale = 1.0f / std::sqrt(float(hd));
  auto q_offset = [&](int b, int t, int h) { return (int64_t(b) * T + t) * q_stride + int64_t(h) * hd; };
  auto kv_offset = [&](int b, int j, int kvh) { return (int64_t(b) * T + j) * kv_stride + int64_t(kvh) * hd; };
  auto probs_row = [&](int b, int h, int t) { return ((int64_t(b) * Hq + h) * T + t) * T; };
  std::vector<float> dq(q.size(), NAN), dk(k.size(), NAN), dv(k.size(), NAN);
  for (int b = 0; b < B; ++b)  // pass 1: Σ p·dp parked in dq's first element of each row
    for (int h = 0; h < Hq; ++h)
      for (int t = 0; t < T; ++t)
        dq[size_t(q_offset(b, t, h))] = attention_weighted_dscore(probs.data() + probs_row(b, h, t),
                                                                  dout.data() + q_offset(b, t, h),
                                                                  v.data() + kv_offset(b, 0, h / group), kv_stride, t, hd);
  for (int b = 0; b < B; ++b)  // pass 2: block (b, kvh, j)
    for (int kvh = 0; kvh < Hkv; ++kvh)
      for (int j = 0; j < T; ++j) {
        const int64_t ko = kv_offset(b, j, kvh);
        std::vector<float> acc_k(hd, 0.0f), acc_v(hd, 0.0f);
        for (int h = kvh * group; h < (kvh + 1) * group; ++h)
          for (int t = j; t < T; ++t) {
            const int64_t qo = q_offset(b, t, h);
            const float p = probs[size_t(probs_row(b, h, t) + j)];
            const float ds = attention_dscore(p, attention_dot(dout.data() + qo, v.data() + ko, hd), dq[size_t(qo)], scale);
            for (int d = 0; d < hd; ++d) {
              acc_v[size_t(d)] += p * dout[size_t(qo + d)];
              acc_k[size_t(d)] += ds * q[size_t(qo + d)];
            }
          }
        for (int d = 0; d < hd; ++d) {
          dk[size_t(ko + d)] = acc_k[size_t(d)];
          dv[size_t(ko + d)] = acc_v[size_t(d)];
        }
      }
  for (int b = 0; b < B; ++b)  // pass 3: block (b, h, t) overwrites its parked sum
    for (int h = 0; h < Hq; ++h)
      for (int t = 0; t < T; ++t) {
        const int64_t qo = q_offset(b, t, h);
        const float* p = probs.data() + probs_row(b, h, t);
        const float weighted = dq[size_t(qo)];
        std::vector<float> acc(hd, 0.0f);
        for (int j = 0; j <= t; ++j) {
          const float* vj = v.data() + kv_offset(b, j, h / group);
          const float* kj = k.data() + kv_offset(b, j, h / group);
          const float ds = attention_dscore(p[j], attention_dot(dout.data() + qo, vj, hd), weighted, scale);
          for (int d = 0; d < hd; ++d) acc[size_t(d)] += ds * kj[d];
        }
        for (int d = 0; d < hd; ++d) dq[size_t(qo + d)] = acc[size_t(d)];
      }
  EXPECT_LT(nmse(dq, want_dq), 1e-12);
  EXPECT_LT(nmse(dk, want_dk), 1e-12);
  expect_bitwise_equal(dv, want_dv);
}

TEST(CudaMath, SwigluBackwardMatchesCpuBitForBit) {
  std::mt19937 rng(14);
  const size_t n = 513;
  const std::vector<float> g = random_floats(rng, n, -6, 6), u = random_floats(rng, n, -2, 2);
  const std::vector<float> dout = random_floats(rng, n, -1, 1);
  std::vector<float> want_dg(n), want_du(n), got_dg(n), got_du(n);
  cpu::swiglu_backward(want_dg.data(), want_du.data(), dout.data(), g.data(), u.data(), int64_t(n));
  for (size_t i = 0; i < n; ++i) {
    const SwigluGrad d = swiglu_backward_element(g[i], u[i], dout[i]);
    got_dg[i] = d.dgate;
    got_du[i] = d.dup;
  }
  expect_bitwise_equal(got_dg, want_dg);
  expect_bitwise_equal(got_du, want_du);
}

// Repeated tokens (the same row added several times) are the case atomics would reorder.
TEST(CudaMath, EmbeddingBackwardMatchesCpuBitForBitWithRepeatedTokens) {
  std::mt19937 rng(15);
  const int V = 11, D = 36, n = 40;
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = int32_t(rng() % 4);  // 40 tokens over 4 ids
  tokens[7] = V - 1;
  const std::vector<float> dout = random_floats(rng, size_t(n) * D, -1, 1);
  const std::vector<float> table0 = random_floats(rng, size_t(V) * D, -1, 1);
  std::vector<float> want = table0, got = table0;
  cpu::embedding_backward(want.data(), dout.data(), tokens.data(), n, D);
  for (int d = 0; d < D; ++d) embedding_backward_feature(got.data(), dout.data(), tokens.data(), n, D, d);
  expect_bitwise_equal(got, want);
}

// The kernel's thread b owns Philox block b (elements 4b .. 4b+3); n = 1027 ends on a partial
// block, and the op runs in place as the LoRA backward calls it.
TEST(CudaMath, LoraDropoutMatchesCpuBitForBit) {
  std::mt19937 rng(16);
  const int64_t n = 1027;
  const std::vector<float> x = random_floats(rng, size_t(n), -1, 1);
  for (float p : {0.0f, 0.05f, 0.5f}) {
    SCOPED_TRACE("p " + std::to_string(p));
    std::vector<float> want(size_t(n), NAN), in_place = x, got(size_t(n), NAN);
    cpu::lora_dropout(want.data(), x.data(), n, 0x1234abcdull, 6, p);
    cpu::lora_dropout(in_place.data(), in_place.data(), n, 0x1234abcdull, 6, p);
    const float keep_scale = 1.0f / (1.0f - p);
    for (int64_t b = 0; b < (n + 3) / 4; ++b) {
      const PhiloxCounter draws = philox_dropout_bits4(0x1234abcdull, 6, uint64_t(b));
      for (int64_t i = 4 * b; i < std::min(n, 4 * b + 4); ++i)
        got[size_t(i)] = dropout_element(x[size_t(i)], draws.w[i % 4], p, keep_scale);
    }
    expect_bitwise_equal(got, want);
    expect_bitwise_equal(in_place, want);
    if (p == 0.0f) expect_bitwise_equal(got, x);  // nothing dropped, scale 1
  }
}

}  // namespace
}  // namespace qzo
