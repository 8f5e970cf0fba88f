#include "framework/dist/placement.h"

#include <unistd.h>

namespace qzo {

HostPlacement host_placement(const std::vector<std::string>& hosts, int rank) {
  HostPlacement p;
  p.local_size = 0;
  for (size_t r = 0; r < hosts.size(); ++r) {
    if (hosts[r] != hosts[static_cast<size_t>(rank)]) continue;
    ++p.local_size;
    if (static_cast<int>(r) < rank) ++p.local_rank;
  }
  return p;
}

std::string this_host_name() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "unknown";
  return name;
}

}  // namespace qzo
