#include "framework/report/stats.h"

#include <cmath>

namespace qzo {

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd m;
  m.n = values.size();
  if (m.n == 0) return m;
  for (double v : values) m.mean += v;
  m.mean /= static_cast<double>(m.n);
  if (m.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(ss / static_cast<double>(m.n - 1));
  }
  return m;
}

double student_t_975(size_t dof) {
  // Quantiles for 1..30 degrees of freedom (standard tables); beyond, the value at the lower
  // end of each bracket (t falls with dof), so an interval is never narrower than it should be.
  static const double table[30] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                   2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                   2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof == 0) return NAN;
  if (dof <= 30) return table[dof - 1];
  if (dof <= 40) return 2.042;   // t(30)
  if (dof <= 60) return 2.021;   // t(40)
  if (dof <= 120) return 2.000;  // t(60)
  return 1.980;                  // t(120)
}

Interval ci95(const std::vector<double>& values) {
  const MeanStd m = mean_std(values);
  Interval ci;
  ci.mean = m.mean;
  ci.n = m.n;
  ci.half_width = m.n < 2 ? NAN : student_t_975(m.n - 1) * m.std / std::sqrt(static_cast<double>(m.n));
  return ci;
}

bool intervals_overlap(const Interval& a, const Interval& b) {
  if (std::isnan(a.half_width) || std::isnan(b.half_width)) return true;  // one seed separates nothing
  return a.low() <= b.high() && b.low() <= a.high();
}

}  // namespace qzo
