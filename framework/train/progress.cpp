#include "framework/train/progress.h"

#include <cstdio>

namespace qzo {

std::string format_duration(double seconds) {
  char buf[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
  char text[32];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

std::string format_rate(double v) {
  char buf[32];
  if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.1fM", v / 1e6);
  else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

double Stopwatch::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

ProgressClock::ProgressClock(long total_steps) : total_(total_steps), step_start_(Clock::now()) {}

void ProgressClock::start_step() { step_start_ = Clock::now(); }

double ProgressClock::tick(long tokens) {
  const double dt = std::chrono::duration<double>(Clock::now() - step_start_).count();
  step_seconds_ += dt;
  // Exponential window so the rate follows the recent speed, not the warm-up.
  window_seconds_ = 0.9 * window_seconds_ + dt;
  window_tokens_ = 0.9 * window_tokens_ + double(tokens);
  return dt;
}

double ProgressClock::step_seconds() const { return step_seconds_; }

double ProgressClock::tokens_per_second() const {
  return window_seconds_ > 0 ? window_tokens_ / window_seconds_ : 0.0;
}

std::string ProgressClock::eta(long steps_done) const {
  if (steps_done <= 0) return "?";
  return format_duration(step_seconds_ / double(steps_done) * double(total_ - steps_done));
}

}  // namespace qzo
