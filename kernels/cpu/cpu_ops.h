// The CPU reference of every op in kernels/ops.h, on host pointers (fp32, OpenMP + OpenBLAS).
// kernels/dispatch/ calls these for the CPU backend; tests compare other backends with them.
#pragma once
#include <cstdint>

#include "kernels/weight_operand.h"

namespace qzo::cpu {

void dequantize(float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation);
// Scale j reads as scales[j] + scale_offsets[j]: the buffered form the fused perturbation is
// tested against.
void dequantize_with_offsets(float* W_out, const QuantizedWeightView& w, const float* scale_offsets);
void dense_read(float* out, const DenseWeightView& w, const ZoPerturbation* perturbation);
void philox_normal_fill(float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n);
void scale_update(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor);
void scale_update_log(float* scales, int64_t n, uint64_t seed, uint32_t stream, float step);
void zo_axpy(float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step);
void adamw_update(float* w, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2,
                  float eps, float weight_decay, float bias_correction1, float bias_correction2);

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int M, int K, int N);
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int rows, int D, float eps);
void rope_forward(float* x, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                  int heads, int head_dim);
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v, int B, int Tq,
                       int Tk, int Hq, int Hkv, int head_dim);
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void residual_add(float* x, const float* y, int64_t n);
void scaled_add(float* x, const float* y, int64_t n, float alpha);
void scale(float* x, int64_t n, float alpha);
void lora_dropout(float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p);
void embedding_forward(float* out, const int32_t* tokens, const float* table, int n, int D);
void embedding_lookup(float* out, const int32_t* tokens, const WeightOperand& table, int n, int D);
void gather_rows(float* out, const float* in, const int32_t* rows, int R, int D);
void scatter_rows(float* out, const float* in, const int32_t* rows, int R, int D);
void cross_entropy_forward_backward(float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale);
void candidate_logprobs(float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C);

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp);
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int rows, int D, bool accumulate_dinp);
void rope_backward(float* dx, const int32_t* positions, const float* cos_table, const float* sin_table, int rows,
                   int heads, int head_dim);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const float* probs, int B, int T, int Hq, int Hkv, int head_dim);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int n, int D);

}  // namespace qzo::cpu
