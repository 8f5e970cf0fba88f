// Central finite differences for gradient tests: compares an analytic gradient with
// (f(x+h) − f(x−h)) / 2h at every element of a (small) input.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace qzo::testing {

inline std::vector<float> random_vector(size_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

// Checks `analytic` against finite differences of `loss` w.r.t. `x` (modified in place and restored).
// The error is measured relative to the gradient's overall scale, as ggml's grad tests do.
inline void expect_gradient_matches(const std::function<double()>& loss, std::vector<float>& x,
                                    const std::vector<float>& analytic, const char* what, float h = 1e-2f,
                                    double tolerance = 2e-2, size_t max_elements = SIZE_MAX) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  double scale = 1e-6;
  for (float g : analytic) scale = std::max(scale, double(std::fabs(g)));
  // Large tensors are probed at evenly spaced elements to keep the suite fast.
  const size_t stride = std::max<size_t>(1, x.size() / std::min(x.size(), max_elements));
  for (size_t i = 0; i < x.size(); i += stride) {
    const float saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2.0 * h);
    EXPECT_NEAR(analytic[i], numeric, tolerance * scale) << what << " element " << i;
  }
}

}  // namespace qzo::testing
