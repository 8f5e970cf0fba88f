// A run's own peak resident memory. The kernel keeps one high-water mark per process
// (VmHWM), so runs that share a process (a sweep) would each report the largest run before
// them; writing "5" to /proc/self/clear_refs drops the mark to what is resident now, so that
// each run's peak is its own.
#pragma once
#include <cstddef>

namespace qzo {

// Starts a run's peak: true when the kernel reset the high-water mark, false when it refused
// (no /proc, a kernel without clear_refs, a sandbox): then run_peak_rss_bytes() is the
// process's peak since it started, and the run should say so.
bool reset_run_peak_rss();
// The peak resident bytes since reset_run_peak_rss() (VmHWM); 0 when /proc is unreadable.
size_t run_peak_rss_bytes();
// Resident bytes now (VmRSS); 0 when /proc is unreadable.
size_t current_rss_bytes();

}  // namespace qzo
