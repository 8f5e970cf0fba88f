// Reading weights on the CPU: an operand becomes fp32 values (in place when it already is,
// else converted, perturbed or dequantized into the workspace), then sgemm; a large dense
// weight in another dtype is converted a block of rows at a time.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/cpu_weights.h"

namespace qzo::cpu {

const float* materialize_f32(Workspace& ws, const WeightOperand& w) {
  if (w.is_plain_f32()) return static_cast<const float*>(w.dense.values);
  float* out = ws.take<float>(w.numel());
  const ZoPerturbation* p = w.perturbed ? &w.perturbation : nullptr;
  if (w.kind == WeightOperand::Kind::Quantized)
    dequantize(out, w.quantized, p);
  else
    dense_read(out, w.dense, p);
  return out;
}

namespace {

// out = inp · Wᵀ (+ bias) with W's rows converted kDenseReadChunkBytes at a time: each block's
// M × rows outputs go through the workspace into their columns of out.
void linear_forward_in_row_blocks(Workspace& ws, float* out, const float* inp, const DenseWeightView& w,
                                  const float* bias, int M, int K, int N) {
  const int rows = int(std::min<size_t>(size_t(N), std::max<size_t>(1, kDenseReadChunkBytes / (sizeof(float) * K))));
  float* block = ws.take<float>(size_t(rows) * K);
  float* block_out = ws.take<float>(size_t(M) * rows);
  const size_t row_bytes = size_t(K) * dtype_size(w.dtype);
  for (int n0 = 0; n0 < N; n0 += rows) {
    const int n = std::min(rows, N - n0);
    const DenseWeightView part{w.dtype, static_cast<const char*>(w.values) + size_t(n0) * row_bytes, size_t(n) * K};
    dense_read(block, part, nullptr);
    matmul_forward(block_out, inp, block, bias ? bias + n0 : nullptr, M, K, n);
    for (int m = 0; m < M; ++m)
      std::memcpy(out + size_t(m) * N + n0, block_out + size_t(m) * n, size_t(n) * sizeof(float));
  }
}

}  // namespace

void linear_forward(Workspace& ws, float* out, const float* inp, const WeightOperand& w, const float* bias, int M,
                    int K, int N) {
  const bool converted_dense = w.kind == WeightOperand::Kind::Dense && !w.perturbed && w.dense.dtype != DType::F32;
  if (converted_dense && w.numel() * sizeof(float) > kDenseReadChunkBytes)
    return linear_forward_in_row_blocks(ws, out, inp, w.dense, bias, M, K, N);
  matmul_forward(out, inp, materialize_f32(ws, w), bias, M, K, N);
}

}  // namespace qzo::cpu
