// The op interface of qzo's compute: every forward op and its hand-written backward.
// kernels/cpu/ holds the reference implementation of each (fp32, OpenMP + OpenBLAS);
// a CUDA backend mirrors these signatures one file per op and is tested against them.
// Layout conventions: activations are row-major [rows, features]; a linear layer's
// weight is [out_features, in_features] as in Hugging Face checkpoints.
#pragma once
#include <cstdint>

namespace qzo::ops {

// out[M,N] = inp[M,K] · W[N,K]^T (+ bias[N])
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M, int K, int N);
// dinp[M,K] (=, or += when accumulate) dout·W;  dweight[N,K] += dout^T·inp;  dbias[N] += Σ_rows dout.
// Any of dinp, dweight, dbias may be null.
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp = false);

// out = inp · rsqrt(mean(inp²) + eps) · weight, per row of D; rstd[row] kept for backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int rows, int D, float eps);
// dinp (+)= ..., dweight += ...
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int rows, int D, bool accumulate_dinp);

// Rotary embedding in Hugging Face's rotate_half convention, in place on x[rows, heads, head_dim];
// row r sits at position positions[r]; cos/sin tables are [max_pos, head_dim/2].
void rope_forward(float* x, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                  int heads, int head_dim);
// The inverse rotation, applied in place to the gradient.
void rope_backward(float* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                   int heads, int head_dim);

// Causal grouped-query attention for B sequences. q[B,Tq,Hq,hd]; k,v[B,Tk,Hkv,hd] with Tk >= Tq:
// query t (absolute position Tk-Tq+t) sees keys 0..Tk-Tq+t. out[B,Tq,Hq,hd].
// probs[B,Hq,Tq,Tk] is written when non-null (needed by the backward); only each row's
// visible prefix (keys 0..Tk-Tq+t) is written.
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v, int B, int Tq,
                       int Tk, int Hq, int Hkv, int head_dim);
// Backward for Tq == Tk == T. dq is overwritten; dk, dv are overwritten.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* probs, int B, int T, int Hq, int Hkv, int head_dim);

// out = silu(gate) · up, elementwise over n.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

// out[n] = table[tokens[n]] (rows of D). Token ids are checked by the caller.
void embedding_forward(float* out, const int32_t* tokens, const float* table, int n, int D);
void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int n, int D);

// Per row: loss[r] = logsumexp(logits[r]) − logits[r, targets[r]]. When dlogits_scale is
// non-null, logits are overwritten with dloss/dlogits · dlogits_scale[r] (softmax − onehot).
void cross_entropy_forward_backward(float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale);

}  // namespace qzo::ops
