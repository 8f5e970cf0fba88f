// Task metrics as MeZO reports them: accuracy, macro-F1 (CB), answer-level F1 (MultiRC's
// F1a) and SQuAD's exact match / token F1 with its answer normalization.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "framework/tasks/task.h"

namespace qzo {

// A model's answer to one example: the chosen candidate index, or generated text.
struct Prediction {
  int index = -1;
  std::string text;
};

struct TaskScore {
  std::string metric;  // the headline metric's name: accuracy, f1_macro, f1_answer_level, f1
  double value = 0;    // in [0, 1]
  std::vector<std::pair<std::string, double>> parts;  // every metric computed, headline first
  size_t count = 0;
};

double accuracy(const std::vector<int>& gold, const std::vector<int>& predicted);
// F1 per class averaged over the classes that occur in gold or predictions (as
// sklearn's f1_score(average="macro") and the SuperGLUE CB scorer do).
double macro_f1(const std::vector<int>& gold, const std::vector<int>& predicted);
// F1 of one class against the rest; 0 when it is never predicted and never gold.
double binary_f1(const std::vector<int>& gold, const std::vector<int>& predicted, int positive);

// SQuAD: lower-case, drop ASCII punctuation, drop the words a/an/the, collapse whitespace.
std::string normalize_answer(const std::string& text);
// 1 when the normalized prediction equals some normalized gold answer, else 0.
double exact_match(const std::string& prediction, const std::vector<std::string>& gold);
// Token-overlap F1 of the normalized texts, the best over the gold answers.
double token_f1(const std::string& prediction, const std::vector<std::string>& gold);

// Scores predictions[i] against examples[i] with the spec's metric. Classification and
// multiple choice read Prediction::index (a ReCoRD prediction counts when it is any correct
// label), generation reads Prediction::text. Throws when the sizes or kinds do not match.
TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<Prediction>& predictions);
TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<int>& predicted_indices);
TaskScore score_predictions(const TaskSpec& spec, const std::vector<Example>& examples,
                            const std::vector<std::string>& generated);

}  // namespace qzo
