#include "framework/train/task_backprop.h"

#include <algorithm>
#include <cmath>

#include "framework/core/error.h"
#include "kernels/ops.h"

namespace qzo {

namespace {

double log_sum_exp(const float* x, int n) {
  const float m = *std::max_element(x, x + n);
  double z = 0;
  for (int i = 0; i < n; ++i) z += std::exp(double(x[i]) - m);
  return m + std::log(z);
}

// Softmax cross-entropy over scores s at `label`: the loss, and dloss/ds = q − y in `ds`.
double softmax_cross_entropy(const std::vector<double>& s, int label, std::vector<double>* ds) {
  const double m = *std::max_element(s.begin(), s.end());
  double z = 0;
  for (double v : s) z += std::exp(v - m);
  ds->resize(s.size());
  for (size_t c = 0; c < s.size(); ++c) (*ds)[c] = std::exp(s[c] - m) / z - (int(c) == label ? 1.0 : 0.0);
  return std::log(z) + m - s[label];
}

// Classification with shared single-token candidates: one row per example, labelled at the
// prompt's last position.
ObjectiveSum single_token_classification(const Model& model, const WeightSource& weights,
                                         const std::vector<EncodedExample>& batch, const std::vector<int32_t>& shared,
                                         const GradientTargets& targets, const BackpropOptions& options) {
  std::vector<TokenRow> rows;
  std::vector<int> labels;
  for (const EncodedExample& e : batch) {
    rows.emplace_back(&e.prompt, nullptr);
    labels.push_back(e.label);
  }
  Batch b = make_row_batch(rows);
  for (size_t i = 0; i < batch.size(); ++i) b.targets[i * b.T + batch[i].prompt.size() - 1] = shared[0];
  const HeadLoss head = [&](float* logits, int R, int V) { return candidate_cross_entropy(logits, R, V, shared, labels); };
  ObjectiveSum out;
  out.sum = model.backprop(b, weights, head, targets, options);
  out.count = double(batch.size());
  return out;
}

// The general case: one row per (example, candidate); candidate c of example i scores
// s_ic = mean log p of its tokens, and ds_ic/dlogits at its position t is (e_target − p_t)/len.
ObjectiveSum multi_token_classification(const Model& model, const WeightSource& weights,
                                        const std::vector<EncodedExample>& batch, const GradientTargets& targets,
                                        const BackpropOptions& options) {
  std::vector<TokenRow> rows;
  std::vector<std::pair<size_t, size_t>> owner;  // (example, candidate) of each row
  for (size_t i = 0; i < batch.size(); ++i)
    for (size_t c = 0; c < batch[i].candidates.size(); ++c) {
      rows.emplace_back(&batch[i].prompt, &batch[i].candidates[c]);
      owner.emplace_back(i, c);
    }
  const Batch b = make_row_batch(rows);
  std::vector<int> row_of;  // batch row of each labelled position, in row-major order
  std::vector<int32_t> target_of;
  for (int i = 0; i < b.B * b.T; ++i)
    if (b.targets[i] >= 0) {
      row_of.push_back(i / b.T);
      target_of.push_back(b.targets[i]);
    }
  const HeadLoss head = [&](float* logits, int R, int V) {
    std::vector<double> lse(R), score(rows.size(), 0.0), length(rows.size(), 0.0);
    for (int r = 0; r < R; ++r) {
      lse[r] = log_sum_exp(logits + size_t(r) * V, V);
      score[row_of[r]] += logits[size_t(r) * V + target_of[r]] - lse[r];
      length[row_of[r]] += 1;
    }
    std::vector<std::vector<double>> s(batch.size());
    for (size_t k = 0; k < rows.size(); ++k) s[owner[k].first].push_back(score[k] / length[k]);
    double loss = 0;
    std::vector<std::vector<double>> ds(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) loss += softmax_cross_entropy(s[i], batch[i].label, &ds[i]);
    for (int r = 0; r < R; ++r) {
      float* row = logits + size_t(r) * V;
      const size_t k = size_t(row_of[r]);
      const double w = ds[owner[k].first][owner[k].second] / length[k];
      for (int v = 0; v < V; ++v) row[v] = float(-w * std::exp(double(row[v]) - lse[r]));
      row[target_of[r]] += float(w);
    }
    return loss;
  };
  ObjectiveSum out;
  out.sum = model.backprop(b, weights, head, targets, options);
  out.count = double(batch.size());
  return out;
}

ObjectiveSum generation_nll(const Model& model, const WeightSource& weights, const std::vector<EncodedExample>& batch,
                            const GradientTargets& targets, const BackpropOptions& options) {
  std::vector<TokenRow> rows;
  for (const EncodedExample& e : batch) {
    if (e.target.empty()) fail("task: a generation example has no gold answer to train on");
    rows.emplace_back(&e.prompt, &e.target);
  }
  const Batch b = make_row_batch(rows);
  std::vector<int32_t> gold;
  for (int32_t t : b.targets)
    if (t >= 0) gold.push_back(t);
  const HeadLoss head = [&](float* logits, int R, int V) {
    std::vector<float> loss(R);
    const std::vector<float> ones(R, 1.0f);  // the gradient of the sum (a null scale skips the gradient)
    ops::cross_entropy_forward_backward(cpu_backend(), loss.data(), logits, gold.data(), R, V, ones.data());  // host logits
    double sum = 0;
    for (float l : loss) sum += l;
    return sum;
  };
  ObjectiveSum out;
  out.sum = model.backprop(b, weights, head, targets, options);
  out.count = double(gold.size());
  return out;
}

}  // namespace

double candidate_cross_entropy(float* logits, int R, int V, const std::vector<int32_t>& candidates,
                               const std::vector<int>& labels) {
  double loss = 0;
  std::vector<double> s(candidates.size()), ds;
  for (int r = 0; r < R; ++r) {
    float* row = logits + size_t(r) * V;
    const double lse = log_sum_exp(row, V);
    for (size_t c = 0; c < candidates.size(); ++c) s[c] = row[candidates[c]] - lse;
    loss += softmax_cross_entropy(s, labels[r], &ds);
    std::fill(row, row + V, 0.0f);
    for (size_t c = 0; c < candidates.size(); ++c) row[candidates[c]] += float(ds[c]);
  }
  return loss;
}

ObjectiveSum task_objective_backprop(const Model& model, const WeightSource& weights,
                                     const std::vector<EncodedExample>& batch, bool generation,
                                     const GradientTargets& targets, const BackpropOptions& options) {
  ObjectiveSum out;
  if (batch.empty()) return out;
  std::vector<int32_t> shared;
  if (generation) out = generation_nll(model, weights, batch, targets, options);
  else if (shared_single_token_candidates(batch, &shared))
    out = single_token_classification(model, weights, batch, shared, targets, options);
  else out = multi_token_classification(model, weights, batch, targets, options);
  for (const EncodedExample& e : batch) out.tokens += int64_t(e.prompt.size() + (generation ? e.target.size() : 0));
  return out;
}

}  // namespace qzo
