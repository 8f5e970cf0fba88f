// The training objective of task_encoding.h (the candidates' softmax cross-entropy at the
// gold label, or the gold answer's summed token NLL) with its gradient, for the backprop
// methods (QLoRA, FT): the same loss the zeroth-order methods estimate, differentiated.
#pragma once
#include <vector>

#include "framework/model/model.h"
#include "framework/train/task_encoding.h"

namespace qzo {

// Accumulates d(summed loss over `batch`)/dθ into `targets` and returns the sum, the number
// of terms and the tokens processed. `weights` is read once per layer in the forward and
// again in the backward (dequantized one layer at a time for a quantized base).
ObjectiveSum task_objective_backprop(const Model& model, const WeightSource& weights,
                                     const std::vector<EncodedExample>& batch, bool generation,
                                     const GradientTargets& targets, const BackpropOptions& options);

// The classification head's loss on logits [R, V] with one row per example: log-probs s_c of
// the candidate tokens, cross-entropy of softmax(s) at labels[r]; overwrites the logits with
// its gradient, which touches only the candidates' logits: Σ_c (q_c − y_c)(e_c − p) reduces to
// Σ_c (q_c − y_c) e_c because Σ_c (q_c − y_c) = 0. Returns the summed loss.
double candidate_cross_entropy(float* logits, int R, int V, const std::vector<int32_t>& candidates,
                               const std::vector<int>& labels);

}  // namespace qzo
