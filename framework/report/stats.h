// The statistics every qzo table prints: sample mean and deviation over seeds, and the
// two-sided 95% confidence interval of the mean from Student's t (a handful of seeds is far
// from the normal limit: t(0.975, 2) = 4.30, against 1.96).
#pragma once
#include <cstddef>
#include <vector>

namespace qzo {

// Sample mean and standard deviation (n − 1; 0 for a single value).
struct MeanStd {
  double mean = 0, std = 0;
  size_t n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

// The 0.975 quantile of Student's t with `dof` degrees of freedom (dof ≥ 1).
double student_t_975(size_t dof);

// mean ± half_width; half_width is NaN below 2 values (no interval from one seed).
struct Interval {
  double mean = 0, half_width = 0;
  size_t n = 0;
  double low() const { return mean - half_width; }
  double high() const { return mean + half_width; }
};
Interval ci95(const std::vector<double>& values);

// Closed intervals that share a point: the data do not separate the two means at 95%.
bool intervals_overlap(const Interval& a, const Interval& b);

}  // namespace qzo
