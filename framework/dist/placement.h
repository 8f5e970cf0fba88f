// Where a rank sits among the ranks of its host, from the host names every rank reports:
// the GPU it computes on (local rank mod the host's GPUs) and its share of the host's cores
// follow from it, whatever launcher started the job.
#pragma once
#include <string>
#include <vector>

namespace qzo {

struct HostPlacement {
  int local_rank = 0;  // this rank's index among the ranks on its host
  int local_size = 1;  // ranks on its host
};

// hosts[r] is rank r's host name.
HostPlacement host_placement(const std::vector<std::string>& hosts, int rank);
std::string this_host_name();

}  // namespace qzo
