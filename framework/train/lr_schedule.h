// Learning-rate schedules shared by every trainer: constant, linear decay and cosine,
// each with an optional linear warmup and a floor (min_lr).
#pragma once
#include <string>

namespace qzo {

struct LrSchedule {
  std::string kind = "constant";  // constant | linear | cosine
  double peak = 1e-3;
  double min_lr = 0.0;
  long warmup_steps = 0;
  long total_steps = 1;

  double at(long step) const;  // step in [0, total_steps)
  static void check_kind(const std::string& kind, const std::string& where);
};

}  // namespace qzo
