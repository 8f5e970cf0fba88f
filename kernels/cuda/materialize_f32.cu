// A weight operand's fp32 values: its own memory when plain fp32, else dequantized or
// (converted and) perturbed into the workspace.
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_ops.h"

namespace qzo::cuda {

const float* materialize_f32(Backend& be, Workspace& ws, const WeightOperand& w) {
  if (w.is_plain_f32()) return static_cast<const float*>(w.dense.values);
  float* out = ws.take<float>(w.numel());
  const ZoPerturbation* p = w.perturbed ? &w.perturbation : nullptr;
  if (w.kind == WeightOperand::Kind::Quantized) dequantize_into(be, out, w.quantized, p);
  else dense_read_into(be, out, w.dense, p);
  return out;
}

}  // namespace qzo::cuda
