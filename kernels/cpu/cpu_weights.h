// The CPU's weight reads, which need the caller's workspace (kept apart from cpu_ops.h,
// whose ops take host pointers only).
#pragma once
#include "kernels/backend.h"
#include "kernels/weight_operand.h"

namespace qzo::cpu {

const float* materialize_f32(Workspace& ws, const WeightOperand& w);
void linear_forward(Workspace& ws, float* out, const float* inp, const WeightOperand& w, const float* bias, int M,
                    int K, int N);

}  // namespace qzo::cpu
