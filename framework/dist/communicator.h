// How data-parallel ranks agree: zeroth-order training moves only a few loss scalars per
// step, so the interface is a sum all-reduce of doubles plus rare gathers and a broadcast;
// backprop baselines (QLoRA, FT) also sum their fp32 gradients, bucket by bucket.
// Implementations: local (one process) here; MPI and NCCL beside it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace qzo {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi", "nccl"
  // Element-wise sum over ranks, in place; every rank receives the same result.
  virtual void all_reduce_sum(double* values, int count) = 0;
  // The same over fp32 values: one bucket of a backprop method's gradients (host memory).
  virtual void all_reduce_sum(float* values, int count) = 0;
  // Every rank's value, in rank order.
  virtual std::vector<uint64_t> all_gather(uint64_t value) = 0;
  // Every rank's text, in rank order (host names, mismatch reports): rare, never per step.
  virtual std::vector<std::string> all_gather_text(const std::string& text) = 0;
  // `root`'s text, on every rank (the NCCL unique id); what other ranks pass is ignored.
  virtual std::string broadcast_text(const std::string& text, int root) = 0;
  // Bytes this rank has sent through all_reduce_sum so far (the figure a ZO step reports
  // beside a gradient all-reduce).
  uint64_t bytes_reduced() const { return bytes_reduced_; }

 protected:
  uint64_t bytes_reduced_ = 0;
};

std::unique_ptr<Communicator> make_local_communicator();

}  // namespace qzo
