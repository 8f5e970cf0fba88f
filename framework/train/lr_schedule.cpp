#include "framework/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"

namespace qzo {

void LrSchedule::check_kind(const std::string& kind, const std::string& where) {
  if (kind != "constant" && kind != "linear" && kind != "cosine")
    fail(where + ": unknown schedule '" + kind + "' (expected constant, linear or cosine)");
}

double LrSchedule::at(long step) const {
  if (warmup_steps > 0 && step < warmup_steps) return peak * double(step + 1) / double(warmup_steps);
  if (kind == "constant") return peak;
  const long decay_steps = std::max(1L, total_steps - warmup_steps);
  const double progress = std::clamp(double(step - warmup_steps) / double(decay_steps), 0.0, 1.0);
  const double shape = kind == "linear" ? 1.0 - progress : 0.5 * (1.0 + std::cos(M_PI * progress));
  return min_lr + (peak - min_lr) * shape;
}

}  // namespace qzo
