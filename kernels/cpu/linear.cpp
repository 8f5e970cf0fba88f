// Reading weights on the CPU: an operand becomes fp32 values (in place when it already is,
// else converted, perturbed or dequantized into the workspace), then sgemm.
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/cpu_weights.h"

namespace qzo::cpu {

const float* materialize_f32(Workspace& ws, const WeightOperand& w) {
  if (w.is_plain_f32()) return static_cast<const float*>(w.dense.values);
  float* out = ws.take<float>(w.numel());
  const ZoPerturbation* p = w.perturbed ? &w.perturbation : nullptr;
  if (w.kind == WeightOperand::Kind::Quantized)
    dequantize(out, w.quantized, p);
  else
    dense_read(out, w.dense, p);
  return out;
}

void linear_forward(Workspace& ws, float* out, const float* inp, const WeightOperand& w, const float* bias, int M,
                    int K, int N) {
  matmul_forward(out, inp, materialize_f32(ws, w), bias, M, K, N);
}

}  // namespace qzo::cpu
