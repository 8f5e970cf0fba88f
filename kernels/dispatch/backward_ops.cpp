// Dispatch of the backward ops (QLoRA and full fine-tuning): the CUDA kernel on a CUDA
// backend, the CPU reference otherwise.
#include "kernels/dispatch/dispatch.h"
#include "kernels/ops.h"

namespace qzo::ops {

void matmul_backward(Backend& be, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp) {
  QZO_DISPATCH(be, (dinp, dweight, dbias, dout, inp, weight, M, K, N, accumulate_dinp), matmul_backward, dinp,
               dweight, dbias, dout, inp, weight, M, K, N, accumulate_dinp);
}

void rmsnorm_backward(Backend& be, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int rows, int D, bool accumulate_dinp) {
  QZO_DISPATCH(be, (dinp, dweight, dout, inp, weight, rstd, rows, D, accumulate_dinp), rmsnorm_backward, dinp,
               dweight, dout, inp, weight, rstd, rows, D, accumulate_dinp);
}

void rope_backward(Backend& be, float* dx, const int32_t* positions, const float* cos_table, const float* sin_table,
                   int rows, int heads, int head_dim) {
  QZO_DISPATCH(be, (dx, positions, cos_table, sin_table, rows, heads, head_dim), rope_backward, dx, positions,
               cos_table, sin_table, rows, heads, head_dim);
}

void attention_backward(Backend& be, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, int B, int T, int Hq, int Hkv,
                        int head_dim) {
  QZO_DISPATCH(be, (dq, dk, dv, dout, q, k, v, probs, B, T, Hq, Hkv, head_dim), attention_backward, dq, dk, dv, dout,
               q, k, v, probs, B, T, Hq, Hkv, head_dim);
}

void swiglu_backward(Backend& be, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n) {
  QZO_DISPATCH(be, (dgate, dup, dout, gate, up, n), swiglu_backward, dgate, dup, dout, gate, up, n);
}

void embedding_backward(Backend& be, float* dtable, const float* dout, const int32_t* tokens, int n, int D) {
  QZO_DISPATCH(be, (dtable, dout, tokens, n, D), embedding_backward, dtable, dout, tokens, n, D);
}

void lora_dropout(Backend& be, float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p) {
  QZO_DISPATCH(be, (out, inp, n, seed, stream, p), lora_dropout, out, inp, n, seed, stream, p);
}

}  // namespace qzo::ops
