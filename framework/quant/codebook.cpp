// Per-channel weighted k-means codebooks (codebook.h). Rows are independent: each runs on
// its own thread, so the result does not depend on the thread count.
#include "framework/quant/codebook.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "framework/quant/quantizer.h"
#include "kernels/packing.h"

namespace qzo {

namespace {

struct WeightedValue {
  double value, weight;
};

// Cluster boundaries of sorted values: value i belongs to the first level whose upper
// midpoint is above it (levels ascending).
void assign(const std::vector<WeightedValue>& v, const std::vector<double>& levels, std::vector<int>& cluster) {
  size_t k = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    while (k + 1 < levels.size() && v[i].value > 0.5 * (levels[k] + levels[k + 1])) ++k;
    cluster[i] = int(k);
  }
}

std::vector<double> kmeans_levels(std::vector<WeightedValue> v, int k) {
  std::sort(v.begin(), v.end(), [](const WeightedValue& a, const WeightedValue& b) { return a.value < b.value; });
  double total = 0;
  for (const WeightedValue& x : v) total += x.weight;
  std::vector<double> levels(static_cast<size_t>(k));
  double seen = 0;
  size_t i = 0;
  for (int q = 0; q < k; ++q) {  // weighted quantile (q + ½) / k
    const double target = (q + 0.5) / k * total;
    while (i + 1 < v.size() && seen + v[i].weight < target) seen += v[i++].weight;
    levels[size_t(q)] = v[i].value;
  }
  std::vector<int> cluster(v.size()), previous;
  for (int it = 0; it < kCodebookIterations; ++it) {
    std::sort(levels.begin(), levels.end());
    assign(v, levels, cluster);
    if (cluster == previous) break;
    std::vector<double> sum(size_t(k), 0.0), mass(size_t(k), 0.0);
    for (size_t j = 0; j < v.size(); ++j) {
      sum[size_t(cluster[j])] += v[j].weight * v[j].value;
      mass[size_t(cluster[j])] += v[j].weight;
    }
    for (int q = 0; q < k; ++q)
      if (mass[size_t(q)] > 0) levels[size_t(q)] = sum[size_t(q)] / mass[size_t(q)];
    previous = cluster;
  }
  std::sort(levels.begin(), levels.end());
  return levels;
}

uint8_t nearest_level(float w, float scale, const float* levels, int k) {
  int best = 0;
  float best_d = std::fabs(w - scale * levels[0]);
  for (int q = 1; q < k; ++q) {
    const float d = std::fabs(w - scale * levels[q]);
    if (d < best_d) best = q, best_d = d;
  }
  return uint8_t(best);
}

}  // namespace

QuantizedParts codebook_quantize(const float* W, int out_features, int in_features, const std::vector<double>& hessian,
                                 int bits) {
  const int n = in_features, k = 1 << bits;
  // The diagonal's mean keeps an input the calibration never saw at a small, nonzero weight.
  double mean_diag = 0;
  for (int c = 0; c < n; ++c) mean_diag += hessian[size_t(c) * n + c];
  mean_diag = std::max(mean_diag / n, 1e-30);
  const size_t row_bytes = packed_bytes(size_t(n), bits);
  QuantizedParts parts;
  parts.packed_codes.assign(size_t(out_features) * row_bytes, 0);
  parts.scales.resize(size_t(out_features));
  parts.codebooks.resize(size_t(out_features) * size_t(k));
#pragma omp parallel
  {
    std::vector<WeightedValue> v(static_cast<size_t>(n));
    std::vector<uint8_t> codes(static_cast<size_t>(n));
#pragma omp for schedule(dynamic, 4)
    for (int r = 0; r < out_features; ++r) {
      const float* w = W + size_t(r) * n;
      for (int c = 0; c < n; ++c) v[size_t(c)] = {double(w[c]), hessian[size_t(c) * n + c] + 1e-6 * mean_diag};
      const std::vector<double> levels = kmeans_levels(v, k);
      double absmax = 0;
      for (double l : levels) absmax = std::max(absmax, std::fabs(l));
      const float scale = std::max(float(absmax), kScaleFloor);
      float* C = parts.codebooks.data() + size_t(r) * k;
      for (int q = 0; q < k; ++q) C[q] = float(levels[size_t(q)] / double(scale));
      parts.scales[size_t(r)] = scale;
      for (int c = 0; c < n; ++c) codes[size_t(c)] = nearest_level(w[c], scale, C, k);
      pack_codes(codes.data(), size_t(n), bits, parts.packed_codes.data() + size_t(r) * row_bytes);
    }
  }
  return parts;
}

}  // namespace qzo
