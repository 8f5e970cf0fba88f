// The step clock counts training steps only: time between a tick and the next start_step
// (evaluation, checkpoints, logging) is never part of ms/step, tokens/s or the ETA.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "framework/train/progress.h"

namespace qzo {
namespace {

TEST(ProgressClock, TimeBetweenStepsIsNotCounted) {
  ProgressClock clock(3);
  for (int step = 0; step < 3; ++step) {
    clock.start_step();
    clock.tick(100);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // an "evaluation" between steps
  }
  // Three empty steps take microseconds; the 300 ms between them must not show.
  EXPECT_LT(clock.step_seconds(), 0.05);
  EXPECT_EQ(clock.eta(3), format_duration(0));
}

TEST(ProgressClock, StepTimeIsCounted) {
  ProgressClock clock(2);
  clock.start_step();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double dt = clock.tick(10);
  EXPECT_GE(dt, 0.045);
  EXPECT_DOUBLE_EQ(clock.step_seconds(), dt);
}

TEST(ProgressFormat, DurationsAndBytes) {
  EXPECT_EQ(format_duration(41), "41s");
  EXPECT_EQ(format_bytes(32), "32 B");
}

}  // namespace
}  // namespace qzo
