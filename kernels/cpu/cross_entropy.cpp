// Softmax cross-entropy over the vocabulary, fused with its gradient (rows = labelled positions).
#include <cmath>

#include "kernels/ops.h"

namespace qzo::ops {

void cross_entropy_forward_backward(float* loss, float* logits, const int32_t* targets, int rows, int V,
                                    const float* dlogits_scale) {
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    float* z = logits + static_cast<int64_t>(r) * V;
    float max_z = z[0];
    for (int i = 1; i < V; ++i) max_z = z[i] > max_z ? z[i] : max_z;
    double sum = 0.0;
    for (int i = 0; i < V; ++i) sum += std::exp(z[i] - max_z);
    const double log_sum = std::log(sum) + max_z;
    loss[r] = static_cast<float>(log_sum - z[targets[r]]);
    if (!dlogits_scale) continue;
    const float scale = dlogits_scale[r];
    const float log_sum_f = static_cast<float>(log_sum);
    for (int i = 0; i < V; ++i) z[i] = std::exp(z[i] - log_sum_f) * scale;
    z[targets[r]] -= scale;
  }
}

}  // namespace qzo::ops
