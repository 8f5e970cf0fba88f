// What a zeroth-order method trains, seen through perturbation and update only:
// QZO's quantization scales, MeZO's full weights. The estimator (zo_step.h) never
// touches parameters directly, and z is regenerated from a seed, never stored.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/model/model.h"

namespace qzo {

class ZoParameters {
 public:
  virtual ~ZoParameters() = default;
  virtual std::string describe() const = 0;  // e.g. "49152 scales of 28 quantized layers"
  virtual size_t size() const = 0;           // trainable elements
  virtual const Model& model() const = 0;
  // The weights at θ + signed_eps·z(seed), read on the fly; θ itself is untouched.
  virtual std::unique_ptr<WeightSource> perturbed(uint64_t seed, float signed_eps) const = 0;
  // The weights at θ (evaluation).
  virtual std::unique_ptr<WeightSource> current() const = 0;
  // θ ← θ + step·z(seed), and θ ← θ − decay·θ on decayed tensors (MeZO's weight decay).
  virtual void update(uint64_t seed, float step, float decay) = 0;
  // Snapshot and restore of θ (dev-set checkpoint selection).
  virtual std::vector<std::vector<uint8_t>> snapshot() const = 0;
  virtual void restore(const std::vector<std::vector<uint8_t>>& snapshot) = 0;
  // FNV-1a of θ's bytes: replicas compare it to prove they are identical.
  virtual uint64_t state_hash() const = 0;
  virtual size_t trainable_bytes() const = 0;
};

}  // namespace qzo
