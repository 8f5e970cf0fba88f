// The CPU's weight reads, which need the caller's workspace (kept apart from cpu_ops.h,
// whose ops take host pointers only).
#pragma once
#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo::cpu {

// An unperturbed dense weight stored in another dtype (a bf16 LM head) is converted to fp32 at
// most this many bytes of rows at a time by linear_forward, so that a 7B head (0.5 GB in fp32)
// does not set a step's workspace; smaller ones are converted whole, as before.
constexpr size_t kDenseReadChunkBytes = size_t(64) << 20;

const float* materialize_f32(Workspace& ws, const WeightOperand& w);
void linear_forward(Workspace& ws, float* out, const float* inp, const WeightOperand& w, const float* bias, int M,
                    int K, int N);

}  // namespace qzo::cpu
