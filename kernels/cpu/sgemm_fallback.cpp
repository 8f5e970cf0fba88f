// The fp32 GEMM of builds without OpenBLAS: cache-blocked (a 64x256 tile of C per OpenMP task,
// K in slices of 256 packed into contiguous panels) with a 4-row micro-kernel that the compiler
// vectorizes over N. A reference, not a rival to OpenBLAS: roughly a few GFLOP/s per core.
#include "kernels/cpu/sgemm_fallback.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace qzo::cpu {

namespace {

constexpr int kTileM = 64, kTileN = 256, kSliceK = 256, kRows = 4;

// Element (i, k) of op(A) and (k, j) of op(B).
inline float a_at(const float* A, int lda, bool trans, int i, int k) {
  return trans ? A[int64_t(k) * lda + i] : A[int64_t(i) * lda + k];
}
inline float b_at(const float* B, int ldb, bool trans, int k, int j) {
  return trans ? B[int64_t(j) * ldb + k] : B[int64_t(k) * ldb + j];
}

// acc[mb_padded, kTileN] += Ap[mb_padded, kb] · Bp[kb, nb], four rows of A per pass over Bp.
void micro_kernel(float* acc, const float* Ap, const float* Bp, int mb_padded, int nb, int kb) {
  for (int i = 0; i < mb_padded; i += kRows) {
    float* c0 = acc + int64_t(i) * kTileN;
    float* c1 = c0 + kTileN;
    float* c2 = c1 + kTileN;
    float* c3 = c2 + kTileN;
    const float* a = Ap + int64_t(i) * kSliceK;
    for (int k = 0; k < kb; ++k) {
      const float a0 = a[k], a1 = a[kSliceK + k], a2 = a[2 * kSliceK + k], a3 = a[3 * kSliceK + k];
      const float* b = Bp + int64_t(k) * kTileN;
#pragma omp simd
      for (int j = 0; j < nb; ++j) {
        c0[j] += a0 * b[j];
        c1[j] += a1 * b[j];
        c2[j] += a2 * b[j];
        c3[j] += a3 * b[j];
      }
    }
  }
}

}  // namespace

void sgemm_fallback(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc) {
  if (M <= 0 || N <= 0) return;
  const int tiles_m = (M + kTileM - 1) / kTileM, tiles_n = (N + kTileN - 1) / kTileN;
#pragma omp parallel
  {
    std::vector<float> acc(size_t(kTileM) * kTileN), Ap(size_t(kTileM) * kSliceK), Bp(size_t(kSliceK) * kTileN);
#pragma omp for collapse(2) schedule(dynamic)
    for (int tm = 0; tm < tiles_m; ++tm)
      for (int tn = 0; tn < tiles_n; ++tn) {
        const int i0 = tm * kTileM, j0 = tn * kTileN;
        const int mb = std::min(kTileM, M - i0), nb = std::min(kTileN, N - j0);
        const int mb_padded = (mb + kRows - 1) / kRows * kRows;
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int k0 = 0; k0 < K; k0 += kSliceK) {
          const int kb = std::min(kSliceK, K - k0);
          for (int i = 0; i < mb_padded; ++i)
            for (int k = 0; k < kb; ++k)
              Ap[size_t(i) * kSliceK + k] = i < mb ? a_at(A, lda, trans_a, i0 + i, k0 + k) : 0.0f;
          for (int k = 0; k < kb; ++k)
            for (int j = 0; j < nb; ++j) Bp[size_t(k) * kTileN + j] = b_at(B, ldb, trans_b, k0 + k, j0 + j);
          micro_kernel(acc.data(), Ap.data(), Bp.data(), mb_padded, nb, kb);
        }
        for (int i = 0; i < mb; ++i) {
          float* c = C + int64_t(i0 + i) * ldc + j0;
          const float* s = acc.data() + size_t(i) * kTileN;
          for (int j = 0; j < nb; ++j) c[j] = alpha * s[j] + (beta == 0.0f ? 0.0f : beta * c[j]);
        }
      }
  }
}

}  // namespace qzo::cpu
