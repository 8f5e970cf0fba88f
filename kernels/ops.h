// The op interface of qzo's compute. Every op takes the Backend that owns its pointers
// first; kernels/dispatch/ sends it to kernels/cpu/ (the fp32 reference, OpenMP + OpenBLAS)
// or kernels/cuda/ (one .cu per op, checked against the CPU by tests/unit/test_backend_ops).
// Ops never allocate: scratch comes from a Workspace the caller owns.
// Layout conventions: activations are row-major [rows, features]; a linear layer's
// weight is [out_features, in_features] as in Hugging Face checkpoints.
#pragma once
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo::ops {

// ---- weights ------------------------------------------------------------------------------
// fp32 values of `w` (numel elements): `w`'s own memory when it is plain fp32, else converted,
// dequantized and/or perturbed into `ws`.
const float* materialize_f32(Backend& be, Workspace& ws, const WeightOperand& w);
// out[M,N] = inp[M,K] · W[N,K]^T (+ bias[N]) with W read through `w`: the CPU dequantizes into
// `ws` and runs sgemm; CUDA writes a bf16 copy into `ws` and runs cuBLAS (fp32 accumulation).
void linear_forward(Backend& be, Workspace& ws, float* out, const float* inp, const WeightOperand& w,
                    const float* bias, int M, int K, int N);
// W_out[out, in] fp32 = S ⊙ (Q − Z) or S ⊙ C[Q], scales read as S + ε·z (or S·exp(ε·z)) when
// perturbation is non-null.
void dequantize(Backend& be, float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation);
// out[i] = dtype-converted values[i] (+ ε·z_i when perturbation is non-null): MeZO's perturbed read.
void dense_read(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation);
// out[i] = z(seed, stream, first_index + i), bit-identical on every backend.
void philox_normal_fill(Backend& be, float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n);

// ---- parameter updates --------------------------------------------------------------------
// QZO: S_j ← max(S_j + step·z_j, min(floor, S_j)), z regenerated from (seed, stream); step = 0
// leaves every scale bit-identical. Throws unless floor >= 0.
void scale_update(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor);
// QZO, multiplicative perturbation: S_j ← S_j · exp(step·z_j); step = 0 leaves every scale
// bit-identical.
void scale_update_log(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step);
// MeZO: w_i ← keep·w_i + step·z_i on fp32 values.
void zo_axpy(Backend& be, float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step);
struct AdamWStep {
  float lr, beta1, beta2, eps, weight_decay;
  float bias_correction1, bias_correction2;  // 1 − β^t
};
// m, v, w updated in place from the gradient g (decoupled weight decay).
void adamw_update(Backend& be, float* w, const float* g, float* m, float* v, int64_t n, const AdamWStep& s);

// ---- dense forward ------------------------------------------------------------------------
void matmul_forward(Backend& be, float* out, const float* inp, const float* weight, const float* bias, int M, int K,
                    int N);
// out = inp · rsqrt(mean(inp²) + eps) · weight, per row of D; rstd[row] kept for backward when non-null.
void rmsnorm_forward(Backend& be, float* out, float* rstd, const float* inp, const float* weight, int rows, int D,
                     float eps);
// Rotary embedding in Hugging Face's rotate_half convention, in place on x[rows, heads, head_dim];
// row r sits at position positions[r]; cos/sin tables are [max_pos, head_dim/2].
void rope_forward(Backend& be, float* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                  int rows, int heads, int head_dim);
// Causal grouped-query attention for B sequences. q[B,Tq,Hq,hd]; k,v[B,Tk,Hkv,hd] with Tk >= Tq:
// query t (absolute position Tk-Tq+t) sees keys 0..Tk-Tq+t. out[B,Tq,Hq,hd].
// probs[B,Hq,Tq,Tk] is written when non-null (needed by the backward); only each row's
// visible prefix (keys 0..Tk-Tq+t) is written. `ws` holds the backend's scratch (scores).
void attention_forward(Backend& be, Workspace& ws, float* out, float* probs, const float* q, const float* k,
                       const float* v, int B, int Tq, int Tk, int Hq, int Hkv, int head_dim);
// out = silu(gate) · up, elementwise over n.
void swiglu_forward(Backend& be, float* out, const float* gate, const float* up, int64_t n);
// x += y over n (the residual stream).
void residual_add(Backend& be, float* x, const float* y, int64_t n);
// x += alpha·y over n (a LoRA adapter's (α/r)·B A x added to its layer's output).
void scaled_add(Backend& be, float* x, const float* y, int64_t n, float alpha);
// x *= alpha over n.
void scale(Backend& be, float* x, int64_t n, float alpha);
// out[n] = table[tokens[n]] (rows of D). Token ids are checked by the caller.
void embedding_forward(Backend& be, float* out, const int32_t* tokens, const float* table, int n, int D);
// The same lookup read through a dense operand: only the looked-up rows are converted (and
// perturbed, element tokens[i]·D + d drawing z at that index), never the whole table.
void embedding_lookup(Backend& be, float* out, const int32_t* tokens, const WeightOperand& table, int n, int D);
// out[r] = in[rows[r]] for r < R (rows of D): the labelled rows the LM head runs on.
void gather_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D);
// out[rows[r]] = in[r] for r < R; other rows of out are left as they are.
void scatter_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D);
// Per row: loss[r] = logsumexp(logits[r]) − logits[r, targets[r]]. When dlogits_scale is
// non-null, logits are overwritten with dloss/dlogits · dlogits_scale[r] (softmax − onehot).
void cross_entropy_forward_backward(Backend& be, float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale);
// out[r, c] = logits[r, candidates[c]] − (logits[r, targets[r]] + loss[r]) = log p(candidate c)
// from the cross-entropy's outputs.
void candidate_logprobs(Backend& be, float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C);

// ---- backward (QLoRA, full fine-tuning) ---------------------------------------------------
// dinp[M,K] (=, or += when accumulate) dout·W;  dweight[N,K] += dout^T·inp;  dbias[N] += Σ_rows dout.
// Any of dinp, dweight, dbias may be null.
void matmul_backward(Backend& be, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp = false);
// dinp (=, or += when accumulate) dL/dinp from the saved rstd;  dweight += Σ_rows dout·inp·rstd,
// skipped when dweight is null (a frozen norm, as in QLoRA).
void rmsnorm_backward(Backend& be, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int rows, int D, bool accumulate_dinp);
// The inverse rotation, applied in place to the gradient.
void rope_backward(Backend& be, float* dx, const int32_t* positions, const float* cos_table, const float* sin_table,
                   int rows, int heads, int head_dim);
// Backward for Tq == Tk == T, from the probs attention_forward wrote (only each row's visible
// prefix is read). dq, dk, dv are overwritten.
void attention_backward(Backend& be, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, int B, int T, int Hq, int Hkv,
                        int head_dim);
void swiglu_backward(Backend& be, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);
// dtable[tokens[i]] += dout[i] (rows of D), tokens in the backend's memory. Every backend sums
// a feature's rows in token order (parallel over features, no atomics): the CPU and CUDA agree
// bit for bit, and so do replicas.
void embedding_backward(Backend& be, float* dtable, const float* dout, const int32_t* tokens, int n, int D);
// Inverted dropout of a LoRA adapter's input: out[i] = inp[i]/(1 − p) where element i is kept,
// 0 where dropped; keep/drop drawn from (seed, stream, i) (philox_dropout_bits4 in kernels/philox.h),
// the same bits on every backend, so the backward regenerates the mask instead of storing it.
// out may equal inp.
void lora_dropout(Backend& be, float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p);

}  // namespace qzo::ops
