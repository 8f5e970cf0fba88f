// The QZO parameter update on a layer's scales, S_j <- S_j + step * z_j with z regenerated
// from (seed, stream) exactly as in the perturbed forward passes, kept above a positive floor.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "framework/quant/quantizer.h"

namespace qzo {

// step = -lr * clipped projected gradient. Each scale becomes
//   max(S_j + step * z_j, min(floor, S_j))
// i.e. a step never takes a scale below `floor` (nor flips its sign) and the floor never
// raises a scale that already sits below it, so step = 0 leaves every scale bit-identical.
// S_j + step * z_j is one fused multiply-add, the same on every machine. Throws unless
// floor >= 0.
void apply_scale_update(float* scales, size_t n, uint64_t seed, uint32_t stream, float step,
                        float floor = kScaleFloor);
void apply_scale_update(std::vector<float>& scales, uint64_t seed, uint32_t stream, float step,
                        float floor = kScaleFloor);

}  // namespace qzo
