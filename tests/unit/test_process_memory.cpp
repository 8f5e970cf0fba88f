// A run's peak RSS is its own: reset at the run's start, two runs of different sizes in one
// process report different peaks, each near what it touched (not the process's maximum).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "framework/core/process_memory.h"

namespace qzo {
namespace {

constexpr size_t kMB = size_t(1) << 20;

// One "run": reset the peak, touch `bytes` of fresh memory (each page written), free it, and
// return the run's peak above the resident size it started from.
size_t run_touching(size_t bytes, bool* reset_ok) {
  *reset_ok = reset_run_peak_rss();
  const size_t start = current_rss_bytes();
  {
    std::vector<uint8_t> block(bytes);  // far above malloc's mmap threshold: its own pages
    for (size_t i = 0; i < bytes; i += 4096) block[i] = uint8_t(i >> 12);
    volatile uint8_t keep = block[bytes / 2];
    (void)keep;
  }
  const size_t peak = run_peak_rss_bytes();
  return peak > start ? peak - start : 0;
}

TEST(ProcessMemory, TwoRunsOfDifferentSizesInOneProcessReportTheirOwnPeaks) {
  bool ok_small = false, ok_large = false, ok_after = false;
  const size_t small = run_touching(50 * kMB, &ok_small);
  const size_t large = run_touching(200 * kMB, &ok_large);
  const size_t after = run_touching(50 * kMB, &ok_after);  // after the large run, as in a sweep
  if (!ok_small || !ok_large || !ok_after) GTEST_SKIP() << "this kernel refuses /proc/self/clear_refs";
  // Each run's peak is within a band of its own allocation: at least what it touched, and
  // no more than that plus slack for the test's own pages (gtest, the allocator).
  EXPECT_GE(small, 48 * kMB);
  EXPECT_LE(small, 80 * kMB);
  EXPECT_GE(large, 195 * kMB);
  EXPECT_LE(large, 230 * kMB);
  EXPECT_GE(after, 48 * kMB);
  EXPECT_LE(after, 80 * kMB) << "the 50 MB run after the 200 MB run reports the earlier maximum";
}

TEST(ProcessMemory, PeakIsAtLeastWhatIsResidentNow) {
  reset_run_peak_rss();
  const size_t now = current_rss_bytes();
  ASSERT_GT(now, 0u) << "/proc/self/status is unreadable";
  EXPECT_GE(run_peak_rss_bytes(), now);
}

}  // namespace
}  // namespace qzo
