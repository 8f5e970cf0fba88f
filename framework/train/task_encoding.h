// Turns task examples into token rows for the model and scores them: candidate
// log-likelihoods (classification, multiple choice), teacher-forced answers (generation
// training) and greedy generation (SQuAD/DROP evaluation). Every function works on a
// caller-given slice, so data-parallel ranks score their own shard.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "framework/model/model.h"
#include "framework/tasks/metrics.h"
#include "framework/tasks/task.h"
#include "framework/tokenizer/tokenizer.h"

namespace qzo {

struct EncodedExample {
  std::vector<int32_t> prompt;                   // BOS + prompt, cut from the left to fit
  std::vector<std::vector<int32_t>> candidates;  // token ids of each continuation
  std::vector<int32_t> target;                   // gold continuation (generation training)
  int label = -1;
};

struct EncodingOptions {
  int max_prompt_tokens = 160;
  int max_total_tokens = 1 << 30;  // the model's context: prompt + continuation must fit
  int batch_rows = 32;  // rows per forward pass when scoring
};

class TaskEncoder {
 public:
  TaskEncoder(const Tokenizer& tokenizer, const TaskSpec& spec, const EncodingOptions& options);
  EncodedExample encode(const Example& example, const std::string& prompt_text) const;
  std::vector<EncodedExample> encode_all(const std::vector<Example>& examples) const;
  const EncodingOptions& options() const { return options_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  const Tokenizer& tokenizer_;
  const TaskSpec& spec_;
  EncodingOptions options_;
};

// One row of a batch: a prompt and its continuation (null: the prompt alone).
using TokenRow = std::pair<const std::vector<int32_t>*, const std::vector<int32_t>*>;
// Rows of prompt + continuation, right-padded; targets only on the continuation.
Batch make_row_batch(const std::vector<TokenRow>& rows);
// True, with the ids, when every example offers the same single-token candidates (spam/ham):
// one labelled row per example then scores them all.
bool shared_single_token_candidates(const std::vector<EncodedExample>& examples, std::vector<int32_t>* ids);

// Mean log-likelihood of each candidate (per example, per candidate). When every example
// offers the same single-token candidates (spam/ham), one row per example suffices.
std::vector<std::vector<double>> score_candidates(const Model& model, const WeightSource& weights,
                                                  const std::vector<EncodedExample>& examples,
                                                  const EncodingOptions& options);

// The training objective over a slice: classification/multiple choice use the cross-entropy
// of softmax(candidate scores) at the gold label (MeZO's classification loss); generation
// uses the summed token NLL of the gold answer. Returns the sum and the number of terms.
struct ObjectiveSum {
  double sum = 0;
  double count = 0;
  int64_t tokens = 0;  // tokens processed by the forward passes
};
ObjectiveSum task_objective(const Model& model, const WeightSource& weights, const std::vector<EncodedExample>& batch,
                            bool generation, const EncodingOptions& options);

// Evaluation predictions: argmax of candidate scores, or greedy text up to max_new_tokens
// (stopping at EOS or a newline).
std::vector<Prediction> predict(const Model& model, const WeightSource& weights,
                                const std::vector<EncodedExample>& examples, bool generation,
                                const EncodingOptions& options, const Tokenizer& tokenizer, int max_new_tokens);

}  // namespace qzo
