// Peak and current resident memory from /proc/self (Linux): status for VmHWM / VmRSS,
// clear_refs to reset the high-water mark (proc(5): "5" resets the peak RSS).
#include "framework/core/process_memory.h"

#include <fstream>
#include <string>

namespace qzo {

namespace {

// A "Key:   123 kB" line of /proc/self/status, in bytes.
size_t status_bytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return size_t(std::stoull(line.substr(key.size()))) * 1024;
  return 0;
}

}  // namespace

bool reset_run_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();  // the write is what resets; a refused write sets failbit
  return bool(clear_refs);
}

size_t run_peak_rss_bytes() { return status_bytes("VmHWM:"); }

size_t current_rss_bytes() { return status_bytes("VmRSS:"); }

}  // namespace qzo
