// Causal grouped-query attention on cuBLAS: scores = scale · Q K^T per head (strided-batched
// SGEMM), an exact causal softmax per row, then out = P V. Scores live in the workspace.
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/forward_math.h"
#include "kernels/cuda/launch.h"

#include <cmath>

namespace qzo::cuda {

namespace {

// One block per score row (b, h, t): softmax over the visible keys in place, zeros past them
// (so that P V may run over all Tk keys), and the visible prefix copied to probs if asked.
__global__ void causal_softmax_kernel(float* scores, float* probs, int Tq, int Tk) {
  const int64_t row = blockIdx.x;  // (b · Hq + h) · Tq + t
  const int visible = visible_keys(Tq, Tk, int(row % Tq));
  float* s = scores + row * Tk;
  float max_s = -INFINITY;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) max_s = fmaxf(max_s, s[j]);
  max_s = block_reduce(max_s, Max{}, -INFINITY);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) {
    s[j] = expf(s[j] - max_s);
    sum += s[j];
  }
  const float inv = 1.0f / block_reduce(sum, Sum{}, 0.0f);
  for (int j = threadIdx.x; j < Tk; j += blockDim.x) {
    const float p = j < visible ? s[j] * inv : 0.0f;
    s[j] = p;
    if (probs && j < visible) probs[row * Tk + j] = p;
  }
}

}  // namespace

void attention_forward(Backend& be, Workspace& ws, float* out, float* probs, const float* q, const float* k,
                       const float* v, int B, int Tq, int Tk, int Hq, int Hkv, int head_dim) {
  if (B == 0 || Tq == 0) return;
  const int group = Hq / Hkv;
  const int64_t ldq = int64_t(Hq) * head_dim, ldk = int64_t(Hkv) * head_dim, score_rows = int64_t(Tq) * Tk;
  float* scores = ws.take<float>(size_t(B) * Hq * score_rows);
  const float scale = 1.0f / std::sqrt(float(head_dim)), one = 1.0f, zero = 0.0f;
  cublasHandle_t blas = blas_of(be);
  // A strided batch needs one stride per operand; query head h = kvh·group + g reads kv head
  // kvh, so each (sequence, g) is one batch over the kv heads.
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < group; ++g)
      cublas_check(cublasSgemmStridedBatched(blas, CUBLAS_OP_T, CUBLAS_OP_N, Tk, Tq, head_dim, &scale,
                                             k + b * Tk * ldk, ldk, head_dim, q + b * Tq * ldq + g * head_dim, ldq,
                                             int64_t(group) * head_dim, &zero, scores + (int64_t(b) * Hq + g) * score_rows,
                                             Tk, group * score_rows, Hkv));
  causal_softmax_kernel<<<unsigned(int64_t(B) * Hq * Tq), kThreads, 0, stream_of(be)>>>(scores, probs, Tq, Tk);
  cuda_check(cudaGetLastError());
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < group; ++g)
      cublas_check(cublasSgemmStridedBatched(blas, CUBLAS_OP_N, CUBLAS_OP_N, head_dim, Tq, Tk, &one, v + b * Tk * ldk,
                                             ldk, head_dim, scores + (int64_t(b) * Hq + g) * score_rows, Tk,
                                             group * score_rows, &zero, out + b * Tq * ldq + g * head_dim, ldq,
                                             int64_t(group) * head_dim, Hkv));
}

}  // namespace qzo::cuda
