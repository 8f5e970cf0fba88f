// The normalized error every cross-backend and kernel-math test bounds:
// nmse(a, b) = mse(a, b) / mse(b, 0), with b the reference (test-backend-ops' measure).
#pragma once
#include <vector>

namespace qzo::testing {

inline double nmse(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0.0, ref = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    ref += double(b[i]) * b[i];
  }
  return err / ref;
}

}  // namespace qzo::testing
