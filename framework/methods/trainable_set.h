// What any fine-tuning method trains, as the trainer sees it between steps: evaluation
// reads it, dev-set selection snapshots and restores it, replicas compare its hash. The
// zeroth-order sets (zo_parameters.h) add perturbation and update; the backprop sets
// (backprop_parameters.h) add gradients and an optimizer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "framework/model/model.h"

namespace qzo {

class TrainableSet {
 public:
  virtual ~TrainableSet() = default;
  virtual std::string describe() const = 0;  // e.g. "49152 scales of 28 quantized layers"
  virtual size_t size() const = 0;           // trainable elements
  virtual const Model& model() const = 0;
  // The weights as they are now (evaluation).
  virtual std::unique_ptr<WeightSource> current() const = 0;
  // Snapshot and restore of the trained state (dev-set selection, checkpoints).
  virtual std::vector<std::vector<uint8_t>> snapshot() const = 0;
  virtual void restore(const std::vector<std::vector<uint8_t>>& snapshot) = 0;
  // FNV-1a of the state's bytes: replicas compare it to prove they are identical.
  virtual uint64_t state_hash() const = 0;
  virtual size_t trainable_bytes() const = 0;
  virtual size_t optimizer_bytes() const { return 0; }
};

}  // namespace qzo
