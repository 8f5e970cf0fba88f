// Softmax cross-entropy over the vocabulary, fused with its gradient (rows = labelled positions),
// and the log-probabilities of candidate tokens read off its outputs.
#include <cmath>

#include "kernels/cpu/cpu_ops.h"

namespace qzo::cpu {

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

void candidate_logprobs(float* out, const float* logits, const float* loss, const int32_t* targets,
                        const int32_t* candidates, int R, int V, int C) {
  // loss[r] = logsumexp − logit[target], so log p(c) = logit[c] − (logit[target] + loss[r]).
  for (int r = 0; r < R; ++r) {
    const float* z = logits + static_cast<int64_t>(r) * V;
    const float log_sum = z[targets[r]] + loss[r];
    for (int c = 0; c < C; ++c) out[static_cast<int64_t>(r) * C + c] = z[candidates[c]] - log_sum;
  }
}

}  // namespace qzo::cpu
