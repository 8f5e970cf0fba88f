// A linear layer over any weight operand. In fp32 it is matmul_forward on the materialized
// weight; in bf16 the weight is dequantized/perturbed straight into a bf16 workspace copy, the
// activations rounded to bf16 beside it, and cuBLAS multiplies them accumulating in fp32.
#include "kernels/error.h"

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/dense_read_math.h"
#include "kernels/cuda/launch.h"

namespace qzo::cuda {

namespace {

__global__ void f32_to_bf16_kernel(uint16_t* out, const float* in, int64_t n) {
  for (int64_t i = first_thread(); i < n; i += thread_stride()) store_element(out, i, in[i]);
}

bool multiplies_in_bf16(Backend& be, const WeightOperand& w) {
  switch (as_cuda(be).matmul_precision()) {
    case CudaMatmulPrecision::Fp32: return false;
    case CudaMatmulPrecision::Bf16: return true;
    case CudaMatmulPrecision::Mixed: return !w.is_plain_f32();
  }
  return false;
}

}  // namespace

void linear_forward(Backend& be, Workspace& ws, float* out, const float* inp, const WeightOperand& w,
                    const float* bias, int M, int K, int N) {
  if (w.numel() != size_t(N) * size_t(K)) fail("cuda linear_forward: weight is not [N, K]");
  if (!multiplies_in_bf16(be, w)) {
    matmul_forward(be, out, inp, materialize_f32(be, ws, w), bias, M, K, N);
    return;
  }
  if (M == 0 || N == 0) return;
  uint16_t* weight = ws.take<uint16_t>(w.numel());
  const ZoPerturbation* p = w.perturbed ? &w.perturbation : nullptr;
  if (w.kind == WeightOperand::Kind::Quantized) dequantize_into(be, weight, w.quantized, p);
  else dense_read_into(be, weight, w.dense, p);
  const int64_t inputs = int64_t(M) * K;
  uint16_t* activations = ws.take<uint16_t>(size_t(inputs));
  f32_to_bf16_kernel<<<grid_for(inputs), kThreads, 0, stream_of(be)>>>(activations, inp, inputs);
  cuda_check(cudaGetLastError());
  const float one = 1.0f, zero = 0.0f;
  cublas_check(cublasGemmEx(blas_of(be), CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, weight, CUDA_R_16BF, K,
                            activations, CUDA_R_16BF, K, &zero, out, CUDA_R_32F, N, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
  add_bias(be, out, bias, M, N);
}

}  // namespace qzo::cuda
