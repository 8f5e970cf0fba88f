// Every CPU op's backward against central finite differences of its forward,
// with the scalar loss Σ out ⊙ R for a fixed random R.
#include <cstring>
#include <numeric>

#include "kernels/ops.h"
#include "tests/unit/grad_check.h"

namespace qzo {
namespace {

using testing::expect_gradient_matches;
using testing::random_vector;

// The CPU's attention keeps its scratch per thread; the workspace argument is for other backends.
Workspace& attention_scratch() {
  static Workspace ws(cpu_backend(), MemoryComponent::Workspace);
  return ws;
}

double weighted_sum(const std::vector<float>& out, const std::vector<float>& r) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += double(out[i]) * r[i];
  return s;
}

TEST(OpsGradient, MatmulWithBias) {
  const int M = 3, K = 5, N = 4;
  auto x = random_vector(M * K, 1), w = random_vector(N * K, 2), b = random_vector(N, 3), r = random_vector(M * N, 4);
  std::vector<float> out(M * N);
  auto loss = [&] { ops::matmul_forward(cpu_backend(), out.data(), x.data(), w.data(), b.data(), M, K, N); return weighted_sum(out, r); };
  std::vector<float> dx(M * K), dw(N * K, 0.0f), db(N, 0.0f);
  ops::matmul_backward(cpu_backend(), dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), M, K, N);
  expect_gradient_matches(loss, x, dx, "dinp");
  expect_gradient_matches(loss, w, dw, "dweight");
  expect_gradient_matches(loss, b, db, "dbias");
}

TEST(OpsGradient, RmsNorm) {
  const int rows = 3, D = 6;
  auto x = random_vector(rows * D, 5), w = random_vector(D, 6), r = random_vector(rows * D, 7);
  std::vector<float> out(rows * D), rstd(rows);
  auto loss = [&] { ops::rmsnorm_forward(cpu_backend(), out.data(), rstd.data(), x.data(), w.data(), rows, D, 1e-5f); return weighted_sum(out, r); };
  loss();
  std::vector<float> dx(rows * D), dw(D, 0.0f);
  ops::rmsnorm_backward(cpu_backend(), dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), rows, D, false);
  expect_gradient_matches(loss, x, dx, "dinp", 1e-3f);
  expect_gradient_matches(loss, w, dw, "dweight", 1e-3f);
}

TEST(OpsGradient, RopeIsAnInvertibleRotation) {
  const int rows = 4, heads = 2, hd = 6, half = hd / 2, max_pos = 8;
  std::vector<float> cos_t(max_pos * half), sin_t(max_pos * half);
  for (int p = 0; p < max_pos; ++p)
    for (int i = 0; i < half; ++i) {
      cos_t[p * half + i] = std::cos(p * (0.3f + i));
      sin_t[p * half + i] = std::sin(p * (0.3f + i));
    }
  const std::vector<int32_t> pos = {0, 3, 5, 7};
  auto x = random_vector(rows * heads * hd, 8), r = random_vector(x.size(), 9);
  auto loss = [&] {
    std::vector<float> y = x;
    ops::rope_forward(cpu_backend(), y.data(), pos.data(), cos_t.data(), sin_t.data(), rows, heads, hd);
    return weighted_sum(y, r);
  };
  std::vector<float> dx = r;
  ops::rope_backward(cpu_backend(), dx.data(), pos.data(), cos_t.data(), sin_t.data(), rows, heads, hd);
  expect_gradient_matches(loss, x, dx, "dx", 1e-3f);
}

TEST(OpsGradient, CausalGroupedQueryAttention) {
  const int B = 2, T = 5, Hq = 4, Hkv = 2, hd = 3;
  auto q = random_vector(B * T * Hq * hd, 10), k = random_vector(B * T * Hkv * hd, 11),
       v = random_vector(B * T * Hkv * hd, 12), r = random_vector(B * T * Hq * hd, 13);
  std::vector<float> out(q.size()), probs(B * Hq * T * T);
  auto loss = [&] {
    ops::attention_forward(cpu_backend(), attention_scratch(), out.data(), probs.data(), q.data(), k.data(), v.data(), B, T, T, Hq, Hkv, hd);
    return weighted_sum(out, r);
  };
  loss();
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  ops::attention_backward(cpu_backend(), dq.data(), dk.data(), dv.data(), r.data(), q.data(), k.data(), v.data(), probs.data(), B, T,
                          Hq, Hkv, hd);
  expect_gradient_matches(loss, q, dq, "dq", 1e-3f);
  expect_gradient_matches(loss, k, dk, "dk", 1e-3f);
  expect_gradient_matches(loss, v, dv, "dv", 1e-3f);
}

TEST(OpsGradient, CachedAttentionEqualsFullAttentionOnTheLastRows) {
  const int T = 6, Tq = 2, Hq = 2, Hkv = 1, hd = 4;
  auto q = random_vector(T * Hq * hd, 14), k = random_vector(T * Hkv * hd, 15), v = random_vector(T * Hkv * hd, 16);
  std::vector<float> full(q.size()), tail(Tq * Hq * hd);
  ops::attention_forward(cpu_backend(), attention_scratch(), full.data(), nullptr, q.data(), k.data(), v.data(), 1, T, T, Hq, Hkv, hd);
  ops::attention_forward(cpu_backend(), attention_scratch(), tail.data(), nullptr, q.data() + (T - Tq) * Hq * hd, k.data(), v.data(), 1, Tq, T, Hq, Hkv, hd);
  for (size_t i = 0; i < tail.size(); ++i) EXPECT_FLOAT_EQ(tail[i], full[(T - Tq) * Hq * hd + i]);
}

TEST(OpsGradient, SwiGlu) {
  const int n = 12;
  auto g = random_vector(n, 17), u = random_vector(n, 18), r = random_vector(n, 19);
  std::vector<float> out(n);
  auto loss = [&] { ops::swiglu_forward(cpu_backend(), out.data(), g.data(), u.data(), n); return weighted_sum(out, r); };
  std::vector<float> dg(n), du(n);
  ops::swiglu_backward(cpu_backend(), dg.data(), du.data(), r.data(), g.data(), u.data(), n);
  expect_gradient_matches(loss, g, dg, "dgate", 1e-3f);
  expect_gradient_matches(loss, u, du, "dup", 1e-3f);
}

TEST(OpsGradient, EmbeddingScattersRepeatedTokens) {
  const int V = 5, D = 3;
  const std::vector<int32_t> tokens = {1, 3, 1, 4};
  auto table = random_vector(V * D, 20), r = random_vector(tokens.size() * D, 21);
  std::vector<float> out(tokens.size() * D);
  auto loss = [&] { ops::embedding_forward(cpu_backend(), out.data(), tokens.data(), table.data(), 4, D); return weighted_sum(out, r); };
  std::vector<float> dtable(V * D, 0.0f);
  ops::embedding_backward(cpu_backend(), dtable.data(), r.data(), tokens.data(), 4, D);
  expect_gradient_matches(loss, table, dtable, "dtable");
}

TEST(OpsGradient, CrossEntropy) {
  const int rows = 3, V = 7;
  auto logits = random_vector(rows * V, 22);
  const std::vector<int32_t> targets = {0, 6, 3};
  const std::vector<float> scale = {1.0f, 0.5f, 2.0f};
  auto loss = [&] {
    std::vector<float> z = logits, l(rows);
    ops::cross_entropy_forward_backward(cpu_backend(), l.data(), z.data(), targets.data(), rows, V, nullptr);
    return double(l[0]) * scale[0] + double(l[1]) * scale[1] + double(l[2]) * scale[2];
  };
  std::vector<float> dz = logits, l(rows);
  ops::cross_entropy_forward_backward(cpu_backend(), l.data(), dz.data(), targets.data(), rows, V, scale.data());
  expect_gradient_matches(loss, logits, dz, "dlogits", 1e-3f);
}

}  // namespace
}  // namespace qzo
