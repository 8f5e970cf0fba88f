// The GPU kit's fallback GEMM (used where OpenBLAS is absent) against OpenBLAS, so that CI
// keeps the parity reference of GPU machines correct.
#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/sgemm_fallback.h"

namespace qzo {
namespace {

TEST(SgemmFallback, MatchesOpenBlasForEveryTransposeAndPaddedStrides) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (int trans_a = 0; trans_a < 2; ++trans_a)
    for (int trans_b = 0; trans_b < 2; ++trans_b)
      for (const auto& [M, N, K] : {std::tuple{1, 1, 1}, std::tuple{7, 300, 65}, std::tuple{130, 33, 513}}) {
        const int lda = (trans_a ? M : K) + 3, ldb = (trans_b ? K : N) + 2, ldc = N + 1;
        std::vector<float> A(size_t(lda) * (trans_a ? K : M)), B(size_t(ldb) * (trans_b ? N : K));
        for (float& x : A) x = dist(rng);
        for (float& x : B) x = dist(rng);
        std::vector<float> want(size_t(ldc) * M, NAN), got = want;  // beta = 0 ignores NaN in C
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N,
                    K, 0.7f, A.data(), lda, B.data(), ldb, 0.0f, want.data(), ldc);
        cpu::sgemm_fallback(trans_a, trans_b, M, N, K, 0.7f, A.data(), lda, B.data(), ldb, 0.0f, got.data(), ldc);
        double err = 0, ref = 0;
        for (int m = 0; m < M; ++m)
          for (int n = 0; n < N; ++n) {
            const double w = want[size_t(m) * ldc + n], g = got[size_t(m) * ldc + n];
            err += (w - g) * (w - g);
            ref += w * w;
          }
        EXPECT_LT(err / ref, 1e-10) << "trans " << trans_a << trans_b << " " << M << "x" << N << "x" << K;
      }
}

}  // namespace
}  // namespace qzo
