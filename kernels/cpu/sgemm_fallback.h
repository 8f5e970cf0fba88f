// A plain fp32 GEMM for builds without OpenBLAS (the GPU kit: there the CPU backend is only
// the parity reference). Row-major, the transposes cblas_sgemm callers use; when the build has
// no OpenBLAS (QZO_HAVE_OPENBLAS undefined) it also provides the cblas_sgemm subset over it,
// so that kernels/cpu/matmul.cpp compiles unchanged.
#pragma once

namespace qzo::cpu {

// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major; op(A) is [M,K] (A is [K,M] when
// trans_a), op(B) is [K,N] (B is [N,K] when trans_b). beta == 0 ignores C's old contents
// (NaN included), as BLAS does.
void sgemm_fallback(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda,
                    const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace qzo::cpu

#if !defined(QZO_HAVE_OPENBLAS)
#include <stdexcept>

enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };

inline void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE trans_a, CBLAS_TRANSPOSE trans_b, int M, int N, int K,
                        float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C,
                        int ldc) {
  if (order != CblasRowMajor) throw std::invalid_argument("sgemm fallback: only row-major is implemented");
  qzo::cpu::sgemm_fallback(trans_a == CblasTrans, trans_b == CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                           ldc);
}

inline void openblas_set_num_threads(int) {}  // OpenMP's thread count governs the fallback
#endif
