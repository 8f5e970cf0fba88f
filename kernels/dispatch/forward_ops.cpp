// Dispatch of the forward ops: the CUDA kernel on a CUDA backend, the CPU reference otherwise.
#include "kernels/dispatch/dispatch.h"
#include "kernels/ops.h"

namespace qzo::ops {

void matmul_forward(Backend& be, float* out, const float* inp, const float* weight, const float* bias, int M, int K,
                    int N) {
  QZO_DISPATCH(be, (out, inp, weight, bias, M, K, N), matmul_forward, out, inp, weight, bias, M, K, N);
}

void rmsnorm_forward(Backend& be, float* out, float* rstd, const float* inp, const float* weight, int rows, int D,
                     float eps) {
  QZO_DISPATCH(be, (out, rstd, inp, weight, rows, D, eps), rmsnorm_forward, out, rstd, inp, weight, rows, D, eps);
}

void rope_forward(Backend& be, float* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                  int rows, int heads, int head_dim) {
  QZO_DISPATCH(be, (x, positions, cos_table, sin_table, rows, heads, head_dim), rope_forward, x, positions, cos_table,
               sin_table, rows, heads, head_dim);
}

void attention_forward(Backend& be, Workspace& ws, float* out, float* probs, const float* q, const float* k,
                       const float* v, int B, int Tq, int Tk, int Hq, int Hkv, int head_dim) {
  (void)ws;  // the CPU keeps its per-thread scores on the stack of each thread
  QZO_DISPATCH(be, (out, probs, q, k, v, B, Tq, Tk, Hq, Hkv, head_dim), attention_forward, ws, out, probs, q, k, v, B,
               Tq, Tk, Hq, Hkv, head_dim);
}

void swiglu_forward(Backend& be, float* out, const float* gate, const float* up, int64_t n) {
  QZO_DISPATCH(be, (out, gate, up, n), swiglu_forward, out, gate, up, n);
}

void residual_add(Backend& be, float* x, const float* y, int64_t n) {
  QZO_DISPATCH(be, (x, y, n), residual_add, x, y, n);
}

void scaled_add(Backend& be, float* x, const float* y, int64_t n, float alpha) {
  QZO_DISPATCH(be, (x, y, n, alpha), scaled_add, x, y, n, alpha);
}

void scale(Backend& be, float* x, int64_t n, float alpha) { QZO_DISPATCH(be, (x, n, alpha), scale, x, n, alpha); }

void embedding_forward(Backend& be, float* out, const int32_t* tokens, const float* table, int n, int D) {
  QZO_DISPATCH(be, (out, tokens, table, n, D), embedding_forward, out, tokens, table, n, D);
}

void embedding_lookup(Backend& be, float* out, const int32_t* tokens, const WeightOperand& table, int n, int D) {
  QZO_DISPATCH(be, (out, tokens, table, n, D), embedding_lookup, out, tokens, table, n, D);
}

void gather_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D) {
  QZO_DISPATCH(be, (out, in, rows, R, D), gather_rows, out, in, rows, R, D);
}

void scatter_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D) {
  QZO_DISPATCH(be, (out, in, rows, R, D), scatter_rows, out, in, rows, R, D);
}

void cross_entropy_forward_backward(Backend& be, float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale) {
  QZO_DISPATCH(be, (loss, logits, targets, rows, V, dlogits_scale), cross_entropy_forward_backward, loss, logits,
               targets, rows, V, dlogits_scale);
}

void candidate_logprobs(Backend& be, float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C) {
  QZO_DISPATCH(be, (out, logits, loss, targets, candidates, R, V, C), candidate_logprobs, out, logits, loss, targets,
               candidates, R, V, C);
}

}  // namespace qzo::ops
