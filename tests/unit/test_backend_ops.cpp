// test-backend-ops for qzo: every op of kernels/cuda/cuda_ops.h run through qzo::ops on the
// CUDA backend and on the CPU reference with the same random inputs, outputs poisoned (NaN)
// before each run, compared by nmse(a, b) = mse(a, b) / mse(b, 0) against a bound per op;
// z, dequantization, the embedding gradient and dropout must agree bit for bit. Without a usable GPU every test skips, saying why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/device.h"
#include "kernels/ops.h"
#include "kernels/packing.h"
#if defined(QZO_HAVE_CUDA)
#include "kernels/cuda/cuda_ops.h"
#endif
#include "tests/unit/nmse.h"

namespace qzo {
namespace {

using testing::nmse;

// Inputs and NaN-poisoned outputs on a backend, and reading them back.
template <typename T>
Buffer put(Backend& be, const std::vector<T>& host) {
  return upload_buffer(be, host.data(), host.size() * sizeof(T), MemoryComponent::Activations);
}
Buffer poisoned(Backend& be, size_t n) {
  return put(be, std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()));
}
std::vector<float> read(Backend& be, const Buffer& b) {
  return download_vector(be, b.as<float>(), b.bytes() / sizeof(float));
}

class BackendOps : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
    cuda_ = make_backend("cuda");
  }

  // The same computation on the CPU and on CUDA, each returning its outputs as host floats.
  using Run = std::function<std::vector<float>(Backend&, Workspace&)>;
  std::vector<float> on_cpu(const Run& run) { return on(cpu_backend(), run); }
  std::vector<float> on_cuda(const Run& run) { return on(*cuda_, run); }
  void expect_nmse_below(const Run& run, double bound) {
    const std::vector<float> want = on_cpu(run), got = on_cuda(run);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(nmse(got, want), bound);
  }
  void expect_bitwise_equal(const Run& run) {
    const std::vector<float> want = on_cpu(run), got = on_cuda(run);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "element " << i;
  }

  std::vector<float> random(size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng_);
    return v;
  }
  std::vector<int32_t> random_ids(size_t n, int below) {
    std::uniform_int_distribution<int32_t> d(0, below - 1);
    std::vector<int32_t> v(n);
    for (int32_t& x : v) x = d(rng_);
    return v;
  }

  std::mt19937 rng_{20240611};
  std::unique_ptr<Backend> cuda_;

 private:
  static std::vector<float> on(Backend& be, const Run& run) {
    Workspace ws(be, MemoryComponent::Workspace);
    std::vector<float> out = run(be, ws);
    be.synchronize();
    return out;
  }
};

// ---- z, weights, updates --------------------------------------------------------------------

TEST_F(BackendOps, PhiloxNormalFillIsBitIdentical) {
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer out = poisoned(be, 100003);
    ops::philox_normal_fill(be, out.as<float>(), 0xabcdef12345ull, 3, 5, 100003);
    return read(be, out);
  });
}

struct Quantized {
  std::vector<uint8_t> packed, zero_points;
  std::vector<float> scales;
  int out_features, in_features, group_size, bits;
  CodeFormat format;
  // Double-quantized NF4 (bitsandbytes' layout) when absmax_codes is non-empty.
  std::vector<uint8_t> absmax_codes;
  std::vector<float> absmax2;
  std::vector<float> codebooks;  // CodeFormat::Codebook: 2^bits levels per row
  std::vector<int32_t> g_idx;    // act-order when non-empty
};

class QuantizedOnBackend {
 public:
  QuantizedOnBackend(Backend& be, const Quantized& q)
      : packed_(put(be, q.packed)), scales_(put(be, q.scales)) {
    if (!q.zero_points.empty()) zero_points_ = put(be, q.zero_points);
    view_ = {q.out_features, q.in_features, q.group_size, q.bits, q.format, packed_bytes(size_t(q.in_features), q.bits),
             packed_.as<uint8_t>(), zero_points_.empty() ? nullptr : zero_points_.as<uint8_t>(), scales_.as<float>(),
             NibbleOrder::LowFirst, {}};
    if (!q.codebooks.empty()) {
      codebooks_ = put(be, q.codebooks);
      view_.codebooks = codebooks_.as<float>();
    }
    if (!q.g_idx.empty()) {
      g_idx_ = put(be, q.g_idx);
      view_.g_idx = g_idx_.as<int32_t>();
    }
    if (!q.absmax_codes.empty()) {
      absmax_codes_ = put(be, q.absmax_codes);
      absmax2_ = put(be, q.absmax2);
      view_.scales = nullptr;
      view_.nibble_order = NibbleOrder::HighFirst;
      view_.double_quant = {absmax_codes_.as<uint8_t>(), absmax2_.as<float>(), 6e-3f};
    }
  }
  const QuantizedWeightView& view() const { return view_; }

 private:
  Buffer packed_, zero_points_, scales_, absmax_codes_, absmax2_, codebooks_, g_idx_;
  QuantizedWeightView view_;
};

Quantized random_quantized(std::mt19937& rng, int out, int in, int group, int bits, CodeFormat format) {
  Quantized q{{}, {}, {}, out, in, group, bits, format, {}, {}, {}, {}};
  const size_t row_bytes = packed_bytes(size_t(in), bits);
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  std::vector<uint8_t> codes(static_cast<size_t>(in));
  q.packed.resize(row_bytes * size_t(out));
  for (int r = 0; r < out; ++r) {
    for (uint8_t& c : codes) c = uint8_t(code(rng));
    pack_codes(codes.data(), codes.size(), bits, q.packed.data() + size_t(r) * row_bytes);
  }
  std::uniform_real_distribution<float> scale(1e-3f, 2e-2f);
  for (int j = 0; j < out * (in / group); ++j) {
    q.scales.push_back(scale(rng));
    if (format == CodeFormat::Scalar) q.zero_points.push_back(uint8_t(code(rng)));
  }
  return q;
}

TEST_F(BackendOps, DequantizeIsBitIdenticalForEveryFormatWithAndWithoutPerturbation) {
  const ZoPerturbation p{99, 12, 2e-3f};
  for (int bits : {2, 3, 4, 8})
    for (CodeFormat format : {CodeFormat::Scalar, CodeFormat::Nf4}) {
      if (format == CodeFormat::Nf4 && bits != 4) continue;
      const Quantized q = random_quantized(rng_, 300, 96, 32, bits, format);
      for (const ZoPerturbation* perturbation : {static_cast<const ZoPerturbation*>(nullptr), &p}) {
        SCOPED_TRACE("bits " + std::to_string(bits) + (perturbation ? " perturbed" : ""));
        expect_bitwise_equal([&](Backend& be, Workspace&) {
          QuantizedOnBackend w(be, q);
          Buffer out = poisoned(be, w.view().numel());
          ops::dequantize(be, out.as<float>(), w.view(), perturbation);
          return read(be, out);
        });
      }
    }
}

// GPTQ's act-order (a random permutation of the columns onto groups of 16) and per-row
// codebooks, plain and additively perturbed: bit for bit.
TEST_F(BackendOps, ActOrderAndCodebookDequantizeAreBitIdentical) {
  const ZoPerturbation p{99, 12, 2e-3f};
  std::vector<Quantized> cases;
  for (int bits : {2, 3, 4, 8}) {
    Quantized q = random_quantized(rng_, 300, 96, 16, bits, CodeFormat::Scalar);
    std::vector<int32_t> perm(96);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng_);
    q.g_idx.resize(96);
    for (int i = 0; i < 96; ++i) q.g_idx[size_t(perm[size_t(i)])] = i / 16;
    cases.push_back(q);
  }
  for (int bits : {2, 3, 4}) {
    Quantized q = random_quantized(rng_, 300, 96, 96, bits, CodeFormat::Codebook);
    q.codebooks = random(size_t(300) << bits, -1.0f, 1.0f);
    cases.push_back(q);
  }
  for (const Quantized& q : cases)
    for (const ZoPerturbation* perturbation : {static_cast<const ZoPerturbation*>(nullptr), &p}) {
      SCOPED_TRACE("bits " + std::to_string(q.bits) + (q.g_idx.empty() ? " codebook" : " act-order") +
                   (perturbation ? " perturbed" : ""));
      expect_bitwise_equal([&](Backend& be, Workspace&) {
        QuantizedOnBackend w(be, q);
        Buffer out = poisoned(be, w.view().numel());
        ops::dequantize(be, out.as<float>(), w.view(), perturbation);
        return read(be, out);
      });
    }
}

// S·exp(ε·z) and S·exp(step·z) through qzo's own exp (kernels/fp32_exp.h): bit for bit.
TEST_F(BackendOps, MultiplicativePerturbationAndLogScaleUpdateAreBitIdentical) {
  const ZoPerturbation p{99, 12, -0.05f, true};
  const Quantized q = random_quantized(rng_, 300, 96, 32, 4, CodeFormat::Scalar);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    QuantizedOnBackend w(be, q);
    Buffer out = poisoned(be, w.view().numel());
    ops::dequantize(be, out.as<float>(), w.view(), &p);
    return read(be, out);
  });
  const std::vector<float> scales = random(10001, 1e-3f, 0.01f);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer s = put(be, scales);
    ops::scale_update_log(be, s.as<float>(), int64_t(scales.size()), 8, 4, -0.3f);
    return read(be, s);
  });
}

// bitsandbytes' layout: the random codes read high nibble first; 300 × 96 / 32 = 900 absmax
// codes span four second-level blocks.
TEST_F(BackendOps, DoubleQuantizedNf4DequantizeIsBitIdentical) {
  Quantized q = random_quantized(rng_, 300, 96, 32, 4, CodeFormat::Nf4);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t j = 0; j < q.scales.size(); ++j) q.absmax_codes.push_back(uint8_t(byte(rng_)));
  q.absmax2 = random((q.scales.size() + 255) / 256, 1e-3f, 4e-3f);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    QuantizedOnBackend w(be, q);
    Buffer out = poisoned(be, w.view().numel());
    ops::dequantize(be, out.as<float>(), w.view(), nullptr);
    return read(be, out);
  });
}

TEST_F(BackendOps, DenseReadIsBitIdenticalForEveryStoredDtype) {
  const std::vector<float> values = random(5000);
  const ZoPerturbation p{5, 1, -1e-3f};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    std::vector<uint8_t> stored(values.size() * dtype_size(dtype));
    convert_from_f32(dtype, values.data(), stored.data(), values.size());
    for (const ZoPerturbation* perturbation : {static_cast<const ZoPerturbation*>(nullptr), &p})
      expect_bitwise_equal([&](Backend& be, Workspace&) {
        Buffer in = put(be, stored), out = poisoned(be, values.size());
        ops::dense_read(be, out.as<float>(), {dtype, in.data(), values.size()}, perturbation);
        return read(be, out);
      });
  }
}

TEST_F(BackendOps, MaterializeF32IsBitIdentical) {
  const Quantized q = random_quantized(rng_, 64, 128, 64, 4, CodeFormat::Nf4);
  expect_bitwise_equal([&](Backend& be, Workspace& ws) {
    QuantizedOnBackend w(be, q);
    const WeightOperand operand = WeightOperand::of_quantized(w.view()).with_perturbation({1, 2, 1e-3f});
    return download_vector(be, ops::materialize_f32(be, ws, operand), operand.numel());
  });
}

TEST_F(BackendOps, ScaleUpdateIsBitIdentical) {
  std::vector<float> scales = random(10001, 0.0f, 0.01f);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer s = put(be, scales);
    ops::scale_update(be, s.as<float>(), int64_t(scales.size()), 8, 4, 2e-3f, 1e-3f);
    return read(be, s);
  });
}

TEST_F(BackendOps, ZoAxpyIsBitIdentical) {
  const std::vector<float> w = random(10001);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer b = put(be, w);
    ops::zo_axpy(be, b.as<float>(), int64_t(w.size()), 8, 4, 0.999f, 1e-3f);
    return read(be, b);
  });
}

TEST_F(BackendOps, AdamWUpdateMatchesCpu) {
  const size_t n = 4097;
  const std::vector<float> w = random(n), g = random(n), m = random(n, -0.1f, 0.1f), v = random(n, 0.0f, 0.01f);
  const ops::AdamWStep step{1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.19f, 0.002f};
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bw = put(be, w), bg = put(be, g), bm = put(be, m), bv = put(be, v);
    ops::adamw_update(be, bw.as<float>(), bg.as<float>(), bm.as<float>(), bv.as<float>(), int64_t(n), step);
    std::vector<float> out = read(be, bw), mo = read(be, bm), vo = read(be, bv);
    out.insert(out.end(), mo.begin(), mo.end());
    out.insert(out.end(), vo.begin(), vo.end());
    return out;
  }, 1e-12);
}

// ---- linear layers ----------------------------------------------------------------------------

TEST_F(BackendOps, MatmulForwardMatchesCpuInFp32) {
  const int M = 33, K = 200, N = 70;
  const std::vector<float> x = random(size_t(M) * K), w = random(size_t(N) * K), bias = random(N);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bx = put(be, x), bw = put(be, w), bb = put(be, bias), out = poisoned(be, size_t(M) * N);
    ops::matmul_forward(be, out.as<float>(), bx.as<float>(), bw.as<float>(), bb.as<float>(), M, K, N);
    return read(be, out);
  }, 1e-10);
}

#if defined(QZO_HAVE_CUDA)  // the precision switch exists only in CUDA builds
TEST_F(BackendOps, QuantizedLinearMatchesCpuInBf16AndFp32) {
  const int M = 17, K = 256, N = 96;
  const Quantized q = random_quantized(rng_, N, K, 64, 4, CodeFormat::Scalar);
  const std::vector<float> x = random(size_t(M) * K), bias = random(N);
  auto run = [&](Backend& be, Workspace& ws) {
    QuantizedOnBackend w(be, q);
    Buffer bx = put(be, x), bb = put(be, bias), out = poisoned(be, size_t(M) * N);
    const WeightOperand operand = WeightOperand::of_quantized(w.view()).with_perturbation({3, 7, -1e-3f});
    ops::linear_forward(be, ws, out.as<float>(), bx.as<float>(), operand, bb.as<float>(), M, K, N);
    return read(be, out);
  };
  cuda::set_cuda_matmul_precision(*cuda_, cuda::CudaMatmulPrecision::Mixed);
  expect_nmse_below(run, 1e-4);  // bf16 operands, fp32 accumulation
  cuda::set_cuda_matmul_precision(*cuda_, cuda::CudaMatmulPrecision::Fp32);
  expect_nmse_below(run, 1e-10);
}
#endif

TEST_F(BackendOps, PerturbedDenseLinearMatchesCpu) {
  const int M = 9, K = 64, N = 40;
  const std::vector<float> x = random(size_t(M) * K), w = random(size_t(N) * K);
  expect_nmse_below([&](Backend& be, Workspace& ws) {
    Buffer bx = put(be, x), bw = put(be, w), out = poisoned(be, size_t(M) * N);
    const WeightOperand operand =
        WeightOperand::of_dense(DType::F32, bw.data(), w.size()).with_perturbation({4, 0, 1e-3f});
    ops::linear_forward(be, ws, out.as<float>(), bx.as<float>(), operand, nullptr, M, K, N);
    return read(be, out);
  }, 1e-4);
}

// ---- dense forward ----------------------------------------------------------------------------

TEST_F(BackendOps, RmsnormForwardMatchesCpu) {
  const int rows = 19, D = 1000;
  const std::vector<float> x = random(size_t(rows) * D), w = random(D, 0.5f, 1.5f);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bx = put(be, x), bw = put(be, w), out = poisoned(be, x.size()), rstd = poisoned(be, rows);
    ops::rmsnorm_forward(be, out.as<float>(), rstd.as<float>(), bx.as<float>(), bw.as<float>(), rows, D, 1e-5f);
    std::vector<float> y = read(be, out), s = read(be, rstd);
    y.insert(y.end(), s.begin(), s.end());
    return y;
  }, 1e-10);
}

TEST_F(BackendOps, RopeForwardMatchesCpu) {
  const int rows = 12, heads = 4, head_dim = 32, max_pos = 16;
  const std::vector<float> x = random(size_t(rows) * heads * head_dim);
  const std::vector<float> c = random(size_t(max_pos) * head_dim / 2), s = random(size_t(max_pos) * head_dim / 2);
  const std::vector<int32_t> positions = random_ids(rows, max_pos);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bx = put(be, x), bc = put(be, c), bs = put(be, s), bp = put(be, positions);
    ops::rope_forward(be, bx.as<float>(), bp.as<int32_t>(), bc.as<float>(), bs.as<float>(), rows, heads, head_dim);
    return read(be, bx);
  }, 1e-12);
}

TEST_F(BackendOps, GroupedQueryAttentionMatchesCpuWithPrefixKeys) {
  const int B = 2, Tq = 5, Tk = 9, Hq = 6, Hkv = 2, hd = 16;
  const std::vector<float> q = random(size_t(B) * Tq * Hq * hd), k = random(size_t(B) * Tk * Hkv * hd);
  const std::vector<float> v = random(k.size());
  auto run = [&](Backend& be, Workspace& ws) {
    Buffer bq = put(be, q), bk = put(be, k), bv = put(be, v);
    Buffer out = poisoned(be, q.size()), probs = poisoned(be, size_t(B) * Hq * Tq * Tk);
    ops::attention_forward(be, ws, out.as<float>(), probs.as<float>(), bq.as<float>(), bk.as<float>(),
                           bv.as<float>(), B, Tq, Tk, Hq, Hkv, hd);
    std::vector<float> result = read(be, out), p = read(be, probs);
    for (size_t row = 0; row < p.size() / Tk; ++row)  // only the visible prefix is written
      for (int j = 0; j < Tk - Tq + int(row % Tq) + 1; ++j) result.push_back(p[row * Tk + size_t(j)]);
    return result;
  };
  expect_nmse_below(run, 1e-10);
}

TEST_F(BackendOps, SwigluAndResidualAddMatchCpu) {
  const size_t n = 3001;
  const std::vector<float> g = random(n, -6, 6), u = random(n), x = random(n);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bg = put(be, g), bu = put(be, u), bx = put(be, x), out = poisoned(be, n);
    ops::swiglu_forward(be, out.as<float>(), bg.as<float>(), bu.as<float>(), int64_t(n));
    ops::residual_add(be, bx.as<float>(), out.as<float>(), int64_t(n));
    return read(be, bx);
  }, 1e-12);
}

// x *= α is one rounding on either side; x += α·y may be one FMA on the GPU and two roundings on
// the CPU (or the reverse), so it is bounded by nmse.
TEST_F(BackendOps, ScaleIsBitIdentical) {
  const std::vector<float> x = random(3001);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer bx = put(be, x);
    ops::scale(be, bx.as<float>(), int64_t(x.size()), 0.37f);
    return read(be, bx);
  });
}

TEST_F(BackendOps, ScaledAddMatchesCpu) {
  const std::vector<float> x = random(3001), y = random(3001);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bx = put(be, x), by = put(be, y);
    ops::scaled_add(be, bx.as<float>(), by.as<float>(), int64_t(x.size()), 2.0f);  // a LoRA α/r
    return read(be, bx);
  }, 1e-12);
}

TEST_F(BackendOps, EmbeddingGatherAndScatterRowsAreExact) {
  const int V = 50, D = 24, n = 13, R = 5;
  const std::vector<float> table = random(size_t(V) * D);
  const std::vector<int32_t> tokens = random_ids(n, V), rows = {12, 0, 7, 3, 9};
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer bt = put(be, table), btok = put(be, tokens), brows = put(be, rows);
    Buffer x = poisoned(be, size_t(n) * D), picked = poisoned(be, size_t(R) * D);
    ops::embedding_forward(be, x.as<float>(), btok.as<int32_t>(), bt.as<float>(), n, D);
    ops::gather_rows(be, picked.as<float>(), x.as<float>(), brows.as<int32_t>(), R, D);
    Buffer back = put(be, std::vector<float>(size_t(n) * D, 0.0f));
    ops::scatter_rows(be, back.as<float>(), picked.as<float>(), brows.as<int32_t>(), R, D);
    std::vector<float> result = read(be, x), p = read(be, picked), s = read(be, back);
    result.insert(result.end(), p.begin(), p.end());
    result.insert(result.end(), s.begin(), s.end());
    return result;
  });
}

TEST_F(BackendOps, EmbeddingLookupThroughAPerturbedBf16OperandIsBitIdentical) {
  const int V = 64, D = 40, n = 17;
  std::vector<uint16_t> bf16(size_t(V) * D);
  const std::vector<float> table = random(bf16.size());
  convert_from_f32(DType::BF16, table.data(), bf16.data(), bf16.size());
  const std::vector<int32_t> tokens = random_ids(n, V);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer bt = put(be, bf16), btok = put(be, tokens), x = poisoned(be, size_t(n) * D);
    const WeightOperand w =
        WeightOperand::of_dense(DType::BF16, bt.data(), bf16.size()).with_perturbation({9, 3, 1e-3f});
    ops::embedding_lookup(be, x.as<float>(), btok.as<int32_t>(), w, n, D);
    return read(be, x);
  });
}

TEST_F(BackendOps, CrossEntropyGradientAndCandidateLogprobsMatchCpu) {
  const int rows = 7, V = 5000, C = 3;
  const std::vector<float> logits = random(size_t(rows) * V, -8, 8), scale = random(rows, 0, 1);
  const std::vector<int32_t> targets = random_ids(rows, V), candidates = {4, 17, 4999};
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer z = put(be, logits), bt = put(be, targets), bc = put(be, candidates), bs = put(be, scale);
    Buffer loss = poisoned(be, rows), lp = poisoned(be, size_t(rows) * C);
    ops::cross_entropy_forward_backward(be, loss.as<float>(), z.as<float>(), bt.as<int32_t>(), rows, V, nullptr);
    ops::candidate_logprobs(be, lp.as<float>(), z.as<float>(), loss.as<float>(), bt.as<int32_t>(),
                            bc.as<int32_t>(), rows, V, C);
    ops::cross_entropy_forward_backward(be, loss.as<float>(), z.as<float>(), bt.as<int32_t>(), rows, V,
                                        bs.as<float>());
    std::vector<float> result = read(be, loss), d = read(be, z), l = read(be, lp);
    result.insert(result.end(), d.begin(), d.end());
    result.insert(result.end(), l.begin(), l.end());
    return result;
  }, 1e-10);
}

// ---- backward (QLoRA, full fine-tuning) ------------------------------------------------------
// Inputs that come from a forward (rstd, probs) are computed once on the host and uploaded to
// both backends, so each test compares one op. Gradients that are accumulated start from random
// values, not zeros.

TEST_F(BackendOps, MatmulBackwardMatchesCpuInFp32) {
  const int M = 33, K = 200, N = 70;
  const std::vector<float> dout = random(size_t(M) * N), x = random(size_t(M) * K), w = random(size_t(N) * K);
  const std::vector<float> dinp0 = random(size_t(M) * K), dweight0 = random(size_t(N) * K), dbias0 = random(N);
  for (bool accumulate : {false, true}) {
    SCOPED_TRACE(accumulate ? "accumulate dinp" : "overwrite dinp");
    expect_nmse_below([&](Backend& be, Workspace&) {
      Buffer bd = put(be, dout), bx = put(be, x), bw = put(be, w), dw = put(be, dweight0), db = put(be, dbias0);
      Buffer dx = accumulate ? put(be, dinp0) : poisoned(be, dinp0.size());
      ops::matmul_backward(be, dx.as<float>(), dw.as<float>(), db.as<float>(), bd.as<float>(), bx.as<float>(),
                           bw.as<float>(), M, K, N, accumulate);
      std::vector<float> result = read(be, dx), gw = read(be, dw), gb = read(be, db);
      result.insert(result.end(), gw.begin(), gw.end());
      result.insert(result.end(), gb.begin(), gb.end());
      return result;
    }, 1e-10);
  }
}

// The bias gradient sums each column's rows in order on both sides: no multiply, so no fusion.
TEST_F(BackendOps, MatmulBackwardBiasGradientIsBitIdentical) {
  const int M = 300, N = 70;
  const std::vector<float> dout = random(size_t(M) * N), dbias0 = random(N);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer bd = put(be, dout), db = put(be, dbias0);
    ops::matmul_backward(be, nullptr, nullptr, db.as<float>(), bd.as<float>(), nullptr, nullptr, M, 16, N);
    return read(be, db);
  });
}

// The NF4 (double-quantized) weight's backward: a frozen weight gets no gradient, only the input
// does, through the dequantized weight: dequantize, then matmul_backward's dinp alone.
TEST_F(BackendOps, FrozenNf4WeightInputGradientMatchesCpu) {
  const int M = 17, K = 128, N = 96;
  Quantized q = random_quantized(rng_, N, K, 64, 4, CodeFormat::Nf4);
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t j = 0; j < q.scales.size(); ++j) q.absmax_codes.push_back(uint8_t(byte(rng_)));
  q.absmax2 = random((q.scales.size() + 255) / 256, 1e-3f, 4e-3f);
  const std::vector<float> dout = random(size_t(M) * N);
  expect_nmse_below([&](Backend& be, Workspace&) {
    QuantizedOnBackend w(be, q);
    Buffer W = poisoned(be, w.view().numel()), bd = put(be, dout), dx = poisoned(be, size_t(M) * K);
    ops::dequantize(be, W.as<float>(), w.view(), nullptr);
    ops::matmul_backward(be, dx.as<float>(), nullptr, nullptr, bd.as<float>(), nullptr, W.as<float>(), M, K, N);
    return read(be, dx);
  }, 1e-10);
}

TEST_F(BackendOps, RmsnormBackwardMatchesCpuWithAndWithoutWeightGradient) {
  const int rows = 19, D = 1000;
  const std::vector<float> x = random(size_t(rows) * D), w = random(D, 0.5f, 1.5f), g = random(x.size());
  const std::vector<float> dinp0 = random(x.size()), dweight0 = random(D);
  std::vector<float> y(x.size()), rstd(rows);
  ops::rmsnorm_forward(cpu_backend(), y.data(), rstd.data(), x.data(), w.data(), rows, D, 1e-5f);
  for (bool frozen : {false, true})
    for (bool accumulate : {false, true}) {
      SCOPED_TRACE(std::string(frozen ? "frozen norm" : "trained norm") + (accumulate ? ", accumulate" : ""));
      expect_nmse_below([&](Backend& be, Workspace&) {
        Buffer bx = put(be, x), bw = put(be, w), bg = put(be, g), bs = put(be, rstd), dw = put(be, dweight0);
        Buffer dx = accumulate ? put(be, dinp0) : poisoned(be, x.size());
        ops::rmsnorm_backward(be, dx.as<float>(), frozen ? nullptr : dw.as<float>(), bg.as<float>(), bx.as<float>(),
                              bw.as<float>(), bs.as<float>(), rows, D, accumulate);
        std::vector<float> result = read(be, dx), gw = read(be, dw);
        result.insert(result.end(), gw.begin(), gw.end());  // unchanged when frozen
        return result;
      }, 1e-10);
    }
}

TEST_F(BackendOps, RopeBackwardMatchesCpu) {
  const int rows = 12, heads = 4, head_dim = 32, max_pos = 16;
  const std::vector<float> dx = random(size_t(rows) * heads * head_dim);
  const std::vector<float> c = random(size_t(max_pos) * head_dim / 2), s = random(size_t(max_pos) * head_dim / 2);
  const std::vector<int32_t> positions = random_ids(rows, max_pos);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bx = put(be, dx), bc = put(be, c), bs = put(be, s), bp = put(be, positions);
    ops::rope_backward(be, bx.as<float>(), bp.as<int32_t>(), bc.as<float>(), bs.as<float>(), rows, heads, head_dim);
    return read(be, bx);
  }, 1e-12);
}

// Shapes: GQA with several sequences; T = 300 spans three 128-entry chunks of the kernels' loops
// (and a group of 4 puts 4·(T − j) entries in a key's block); head_dim 160 gives threads a second
// element. probs are NaN past each row's visible prefix, as the forward leaves them.
TEST_F(BackendOps, AttentionBackwardMatchesCpuForGroupedQueryHeads) {
  struct Shape {
    int B, T, Hq, Hkv, hd;
  };
  for (const Shape& sh : {Shape{2, 9, 6, 2, 16}, Shape{1, 300, 4, 1, 64}, Shape{1, 20, 2, 2, 160}}) {
    SCOPED_TRACE("T " + std::to_string(sh.T) + " Hq " + std::to_string(sh.Hq) + " Hkv " + std::to_string(sh.Hkv) +
                 " head_dim " + std::to_string(sh.hd));
    const std::vector<float> q = random(size_t(sh.B) * sh.T * sh.Hq * sh.hd);
    const std::vector<float> k = random(size_t(sh.B) * sh.T * sh.Hkv * sh.hd), v = random(k.size());
    const std::vector<float> dout = random(q.size());
    std::vector<float> out(q.size()), probs(size_t(sh.B) * sh.Hq * sh.T * sh.T, std::numeric_limits<float>::quiet_NaN());
    {
      Workspace ws(cpu_backend(), MemoryComponent::Workspace);
      ops::attention_forward(cpu_backend(), ws, out.data(), probs.data(), q.data(), k.data(), v.data(), sh.B, sh.T,
                             sh.T, sh.Hq, sh.Hkv, sh.hd);
    }
    expect_nmse_below([&](Backend& be, Workspace&) {
      Buffer bq = put(be, q), bk = put(be, k), bv = put(be, v), bd = put(be, dout), bp = put(be, probs);
      Buffer dq = poisoned(be, q.size()), dk = poisoned(be, k.size()), dv = poisoned(be, k.size());
      ops::attention_backward(be, dq.as<float>(), dk.as<float>(), dv.as<float>(), bd.as<float>(), bq.as<float>(),
                              bk.as<float>(), bv.as<float>(), bp.as<float>(), sh.B, sh.T, sh.Hq, sh.Hkv, sh.hd);
      std::vector<float> result = read(be, dq), gk = read(be, dk), gv = read(be, dv);
      result.insert(result.end(), gk.begin(), gk.end());
      result.insert(result.end(), gv.begin(), gv.end());
      return result;
    }, 1e-10);
  }
}

TEST_F(BackendOps, SwigluBackwardMatchesCpu) {
  const size_t n = 3001;
  const std::vector<float> g = random(n, -6, 6), u = random(n), dout = random(n);
  expect_nmse_below([&](Backend& be, Workspace&) {
    Buffer bg = put(be, g), bu = put(be, u), bd = put(be, dout), dg = poisoned(be, n), du = poisoned(be, n);
    ops::swiglu_backward(be, dg.as<float>(), du.as<float>(), bd.as<float>(), bg.as<float>(), bu.as<float>(),
                         int64_t(n));
    std::vector<float> result = read(be, dg), gu = read(be, du);
    result.insert(result.end(), gu.begin(), gu.end());
    return result;
  }, 1e-12);
}

// 500 tokens over 20 ids: every row is added many times, in token order on both backends.
TEST_F(BackendOps, EmbeddingBackwardIsBitIdenticalWithRepeatedTokens) {
  const int V = 64, D = 300, n = 500;
  const std::vector<int32_t> tokens = random_ids(n, 20);
  const std::vector<float> dout = random(size_t(n) * D), table0 = random(size_t(V) * D);
  expect_bitwise_equal([&](Backend& be, Workspace&) {
    Buffer dt = put(be, table0), bd = put(be, dout), bt = put(be, tokens);
    ops::embedding_backward(be, dt.as<float>(), bd.as<float>(), bt.as<int32_t>(), n, D);
    return read(be, dt);
  });
}

// The mask is Philox bits compared with p and the kept values one multiply: the CPU's bits, out
// of place and in place (the LoRA backward's call), n ending on a partial Philox block.
TEST_F(BackendOps, LoraDropoutIsBitIdentical) {
  const int64_t n = 100003;
  const std::vector<float> x = random(size_t(n));
  for (float p : {0.05f, 0.5f})
    for (bool in_place : {false, true}) {
      SCOPED_TRACE("p " + std::to_string(p) + (in_place ? " in place" : ""));
      expect_bitwise_equal([&](Backend& be, Workspace&) {
        Buffer bx = put(be, x), out = poisoned(be, x.size());
        float* dst = in_place ? bx.as<float>() : out.as<float>();
        ops::lora_dropout(be, dst, bx.as<float>(), n, 0xd00dfeedull, 42, p);
        return read(be, in_place ? bx : out);
      });
    }
}

// ---- whole forward / whole QZO step ------------------------------------------------------------
// Reserved for the model-level parity tests (a QuantizedModel's loss on CUDA vs the CPU, and one
// QZO step's updated scales bit for bit), to be added once the model runs on the backend seam.

}  // namespace
}  // namespace qzo
