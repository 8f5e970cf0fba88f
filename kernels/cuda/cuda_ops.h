// The CUDA twin of every op of kernels/ops.h: weights, updates, forward and backward (same
// signatures, pointers in device memory, work queued on the backend's stream). Each op lives in
// its own .cu beside a __host__ __device__ helper (kernels/cuda/*_math.h) that host tests run
// against the CPU op.
// Only kernels/dispatch/ includes this header.
#pragma once
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/ops.h"
#include "kernels/weight_operand.h"

namespace qzo::cuda {

// The CUDA backend for device `device` (one stream, one cuBLAS handle); throws naming the
// device and the CUDA error when it cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int device);

// How linear_forward multiplies. Mixed (the default): a plain fp32 weight in fp32 (cuBLAS
// sgemm), a quantized or perturbed one as bf16 with fp32 accumulation. Bf16: every weight as
// bf16. Fp32: every weight in fp32 (parity tests; also QZO_CUDA_FP32=1 at backend creation).
enum class CudaMatmulPrecision { Mixed, Bf16, Fp32 };
// Throws unless `be` is a CUDA backend.
void set_cuda_matmul_precision(Backend& be, CudaMatmulPrecision precision);

const float* materialize_f32(Backend& be, Workspace& ws, const WeightOperand& w);
void linear_forward(Backend& be, Workspace& ws, float* out, const float* inp, const WeightOperand& w,
                    const float* bias, int M, int K, int N);
void dequantize(Backend& be, float* W_out, const QuantizedWeightView& w, const ZoPerturbation* perturbation);
void dense_read(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation);
void philox_normal_fill(Backend& be, float* out, uint64_t seed, uint32_t stream, uint64_t first_index, int64_t n);
void scale_update(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step, float floor);
void scale_update_log(Backend& be, float* scales, int64_t n, uint64_t seed, uint32_t stream, float step);
void zo_axpy(Backend& be, float* w, int64_t n, uint64_t seed, uint32_t stream, float keep, float step);
void adamw_update(Backend& be, float* w, const float* g, float* m, float* v, int64_t n, const ops::AdamWStep& s);

void matmul_forward(Backend& be, float* out, const float* inp, const float* weight, const float* bias, int M, int K,
                    int N);
void rmsnorm_forward(Backend& be, float* out, float* rstd, const float* inp, const float* weight, int rows, int D,
                     float eps);
void rope_forward(Backend& be, float* x, const int32_t* positions, const float* cos_table, const float* sin_table,
                  int rows, int heads, int head_dim);
void attention_forward(Backend& be, Workspace& ws, float* out, float* probs, const float* q, const float* k,
                       const float* v, int B, int Tq, int Tk, int Hq, int Hkv, int head_dim);
void swiglu_forward(Backend& be, float* out, const float* gate, const float* up, int64_t n);
void residual_add(Backend& be, float* x, const float* y, int64_t n);
void scaled_add(Backend& be, float* x, const float* y, int64_t n, float alpha);
void scale(Backend& be, float* x, int64_t n, float alpha);
void embedding_forward(Backend& be, float* out, const int32_t* tokens, const float* table, int n, int D);
void embedding_lookup(Backend& be, float* out, const int32_t* tokens, const WeightOperand& table, int n, int D);
void gather_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D);
void scatter_rows(Backend& be, float* out, const float* in, const int32_t* rows, int R, int D);
void cross_entropy_forward_backward(Backend& be, float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale);
void candidate_logprobs(Backend& be, float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C);

// ---- backward (QLoRA, full fine-tuning) ---------------------------------------------------
void matmul_backward(Backend& be, float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int M, int K, int N, bool accumulate_dinp);
void rmsnorm_backward(Backend& be, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int rows, int D, bool accumulate_dinp);
void rope_backward(Backend& be, float* dx, const int32_t* positions, const float* cos_table, const float* sin_table,
                   int rows, int heads, int head_dim);
void attention_backward(Backend& be, float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, int B, int T, int Hq, int Hkv,
                        int head_dim);
void swiglu_backward(Backend& be, float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);
void embedding_backward(Backend& be, float* dtable, const float* dout, const int32_t* tokens, int n, int D);
void lora_dropout(Backend& be, float* out, const float* inp, int64_t n, uint64_t seed, uint32_t stream, float p);

}  // namespace qzo::cuda
