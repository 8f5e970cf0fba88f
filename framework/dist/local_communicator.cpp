// The single-process communicator: reductions are identities.
#include "framework/dist/communicator.h"

namespace qzo {

namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void all_reduce_sum(double*, int count) override { bytes_reduced_ += sizeof(double) * count; }
  void all_reduce_sum(float*, int count) override { bytes_reduced_ += sizeof(float) * count; }
  std::vector<uint64_t> all_gather(uint64_t value) override { return {value}; }
  std::vector<std::string> all_gather_text(const std::string& text) override { return {text}; }
  std::string broadcast_text(const std::string& text, int) override { return text; }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() { return std::make_unique<LocalCommunicator>(); }

}  // namespace qzo
