// What a zeroth-order method trains, seen through perturbation and update only:
// QZO's quantization scales, MeZO's full weights. The estimator (zo_step.h) never
// touches parameters directly, and z is regenerated from a seed, never stored.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/methods/trainable_set.h"

namespace qzo {

class ZoParameters : public TrainableSet {
 public:
  // The weights at θ + signed_eps·z(seed), read on the fly; θ itself is untouched.
  virtual std::unique_ptr<WeightSource> perturbed(uint64_t seed, float signed_eps) const = 0;
  // θ ← θ + step·z(seed), and θ ← θ − decay·θ on decayed tensors (MeZO's weight decay).
  virtual void update(uint64_t seed, float step, float decay) = 0;
};

}  // namespace qzo
