// Task examples as the trainer sees them (a prompt plus candidate continuations, or a prompt
// plus gold answers), the MeZO-style train/dev/eval sampling, and in-context prompts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "framework/tasks/task_spec.h"

namespace qzo {

struct Example {
  std::string prompt;
  // classification / multiple_choice: the text appended after the prompt for each choice,
  // e.g. " great" / " terrible", or COPA's two filled choices. Empty for generation.
  std::vector<std::string> candidates;
  int label = -1;                    // index of the correct candidate; -1 for generation
  std::vector<int> correct_labels;   // every correct index (ReCoRD may list several); has label
  std::vector<std::string> answers;  // generation: gold answers; ReCoRD: the gold entities
  // The gold continuation: candidates[label], or the first answer through candidate_template.
  // What a demonstration shows and what training on a generation task teacher-forces.
  std::string target;
  std::string id;
};

struct TaskData {
  TaskSpec spec;
  std::vector<Example> train, dev, eval;
};

// One example from one record; `where` ("train.jsonl:12") locates errors such as
// "train.jsonl:12: missing field 'hypothesis'".
Example make_example(const TaskSpec& spec, const nlohmann::json& record, const std::string& where);

// MeZO's sampling. jsonl: the train file is shuffled with `seed`; train = the first n_train,
// dev = the next n_dev (disjoint); eval = n_eval examples of the validation file drawn with
// the fixed kEvalSeed, so every run seed is scored on the same eval set (all of the file, in
// its order, when n_eval < 0 or n_eval >= its size). spam_assassin: train/dev/eval from the
// 2,400 held-out emails, balanced per class, and disjoint by body (see docs/tasks.md).
// Deterministic for (spec, files, n_*, seed). Throws one line for a missing file, bad JSON
// (file:line), a missing field (file:line and field) or counts the data cannot supply.
// An empty data_dir means task_data_dir(""), the cache.
TaskData load_task(const TaskSpec& spec, const std::string& data_dir, int n_train, int n_dev, int n_eval,
                   uint64_t seed);
constexpr uint64_t kEvalSeed = 0;

// The folder a jsonl task's files are relative to: data_dir itself, or <cache_dir()>/data when
// it is empty, where launch/setup.sh exports the tasks it can fetch (fine-foods).
std::string task_data_dir(const std::string& data_dir);

// k demonstrations (prompt + target) joined by the spec's demo_separator, then the query's
// prompt. With no demonstrations it is the query's prompt.
std::string build_icl_prompt(const std::vector<Example>& demos, const Example& query, const TaskSpec& spec);

// Fisher-Yates with a 64-bit Mersenne Twister and exact bounded draws, so the order is the
// same with every standard library (std::shuffle's is not specified).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);

// Cuts `text` to at most max_chars bytes at the last whitespace before the limit (at a code
// point boundary when a single word is longer), and drops the trailing whitespace.
std::string truncate_on_word(const std::string& text, size_t max_chars);

}  // namespace qzo
