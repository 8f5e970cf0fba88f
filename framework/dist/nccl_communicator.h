// GPU ranks: NCCL carries the per-step loss sums and the replica-guard hashes; the host
// communicator (MPI) bootstraps it — rank 0's ncclUniqueId travels over MPI — and carries
// the rare text exchanges. One GPU per local rank: the i-th rank on a host takes device
// i mod (devices on that host). Built only when nvcc and libnccl are found.
#pragma once
#include <memory>

#include "framework/dist/communicator.h"

namespace qzo {

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host);

}  // namespace qzo
