// The training log line on rank 0's terminal:
//   step 120/2000 | loss 3.4121 | lr 6.0e-04 | 412 ms | 9.9k tok/s | eta 2m14s
// Trainers add their own fields (e.g. d raw/clipped for zeroth-order steps).
#pragma once
#include <chrono>
#include <string>

namespace qzo {

std::string format_duration(double seconds);   // "2h14m", "3m05s", "41s"
std::string format_rate(double per_second);    // "9.9k", "1.2M", "512"
std::string format_bytes(double bytes);        // "32 B", "196.6 KB", "9.4 MB", "14.0 GB" (powers of 1000)

// Seconds since construction (a whole command, evaluation included).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double elapsed() const;

 private:
  std::chrono::steady_clock::time_point start_;
};

// Training-step time only: a step runs from start_step() to tick(), so evaluation,
// checkpoints and logging between steps never count in ms/step, tokens/s or the ETA.
class ProgressClock {
 public:
  explicit ProgressClock(long total_steps);
  void start_step();
  // Marks the end of the step begun by start_step() that processed `tokens`; returns its seconds.
  double tick(long tokens);
  double step_seconds() const;       // the ticked steps' seconds, summed
  double tokens_per_second() const;  // over the recent window
  std::string eta(long steps_done) const;

 private:
  using Clock = std::chrono::steady_clock;
  long total_;
  Clock::time_point step_start_;
  double step_seconds_ = 0;
  double window_seconds_ = 0, window_tokens_ = 0;
};

}  // namespace qzo
