// Row copies through an index: the embedding lookup (rows of the table by token id, from fp32
// or through a dense operand), the LM head's gather of labelled rows and its scatter back.
// One thread per element.
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/dense_read_math.h"
#include "kernels/cuda/launch.h"
#include "kernels/error.h"

namespace qzo::cuda {

namespace {

// out[out_rows ? out_rows[r] : r] = in[in_rows ? in_rows[r] : r] for r < R.
__global__ void copy_rows_kernel(float* out, const int32_t* out_rows, const float* in, const int32_t* in_rows,
                                 int64_t R, int D) {
  for (int64_t i = first_thread(); i < R * D; i += thread_stride()) {
    const int64_t r = i / D, d = i % D;
    const int64_t src = in_rows ? in_rows[r] : r, dst = out_rows ? out_rows[r] : r;
    out[dst * D + d] = in[src * D + d];
  }
}

void copy_rows(Backend& be, float* out, const int32_t* out_rows, const float* in, const int32_t* in_rows, int R,
               int D) {
  const int64_t n = int64_t(R) * D;
  if (n == 0) return;
  copy_rows_kernel<<<grid_for(n), kThreads, 0, stream_of(be)>>>(out, out_rows, in, in_rows, R, D);
  cuda_check(cudaGetLastError());
}

// The lookup through a dense operand: rows converted (and perturbed) as they are read.
__global__ void embedding_lookup_kernel(float* out, const int32_t* tokens, DenseWeightView w, ZoPerturbation p,
                                        bool perturbed, int64_t n, int D) {
  for (int64_t i = first_thread(); i < n * D; i += thread_stride())
    out[i] = embedding_element(tokens, w, perturbed ? &p : nullptr, D, i);
}

}  // namespace

void embedding_lookup(Backend& be, float* out, const int32_t* tokens, const WeightOperand& table, int n, int D) {
  if (table.kind != WeightOperand::Kind::Dense) fail("cuda embedding_lookup: the embedding table must be dense");
  const int64_t elements = int64_t(n) * D;
  if (elements == 0) return;
  embedding_lookup_kernel<<<grid_for(elements), kThreads, 0, stream_of(be)>>>(
      out, tokens, table.dense, table.perturbation, table.perturbed, n, D);
  cuda_check(cudaGetLastError());
}

void embedding_forward(Backend& be, float* out, const int32_t* tokens, const float* table, int n, int D) {
  copy_rows(be, out, nullptr, table, tokens, n, D);
}

void gather_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D) {
  copy_rows(be, out, nullptr, in, rows, R, D);
}

void scatter_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D) {
  copy_rows(be, out, rows, in, nullptr, R, D);
}

}  // namespace qzo::cuda
