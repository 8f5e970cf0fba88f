// How a perturbed quantization scale reads, shared by every backend's dequantization:
// additive S + ε·z (the paper's), or multiplicative S · exp(ε·z) (SPSA on log S: ε is
// relative to each scale, and a scale never changes sign). ε·z is rounded before it meets
// the scale, on every backend (kernels/rounding.h), and exp is qzo's own (kernels/fp32_exp.h),
// so that every backend and CPU computes the same bits.
#pragma once
#include "kernels/fp32_exp.h"
#include "kernels/hd.h"
#include "kernels/rounding.h"

namespace qzo {

// The per-scale term a perturbation contributes: ε·z, or the factor exp(ε·z).
QZO_HD inline float scale_perturbation(float signed_eps, float z, bool multiplicative) {
  const float e = mul_rn(signed_eps, z);
  return multiplicative ? exp_fp32(e) : e;
}

// The stored scale with its perturbation term applied.
QZO_HD inline float apply_scale_perturbation(float stored, float term, bool multiplicative) {
  return multiplicative ? stored * term : stored + term;
}

}  // namespace qzo

namespace qzo {

// The multiplicative update S ← S · exp(step·z) (step = −η·d): a zero step leaves S
// bit-identical (exp(±0) = 1), and a positive scale stays positive without a floor.
QZO_HD inline float log_updated_scale(float s, float step, float z) { return s * exp_fp32(mul_rn(step, z)); }

}  // namespace qzo
