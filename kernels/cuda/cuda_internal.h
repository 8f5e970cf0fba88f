// Pieces the CUDA ops share between their .cu files: the weight materializations in fp32 or
// bf16 (linear_forward's operands) and the bias add of the GEMMs.
#pragma once
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo::cuda {

// dequantize / dense_read into fp32 or into bf16 bits (uint16_t), same math before the store.
void dequantize_into(Backend& be, float* out, const QuantizedWeightView& w, const ZoPerturbation* perturbation);
void dequantize_into(Backend& be, uint16_t* bf16_out, const QuantizedWeightView& w,
                     const ZoPerturbation* perturbation);
void dense_read_into(Backend& be, float* out, const DenseWeightView& w, const ZoPerturbation* perturbation);
void dense_read_into(Backend& be, uint16_t* bf16_out, const DenseWeightView& w, const ZoPerturbation* perturbation);

// out[m, n] += bias[n] for an [M, N] row-major output.
void add_bias(Backend& be, float* out, const float* bias, int M, int N);

}  // namespace qzo::cuda
