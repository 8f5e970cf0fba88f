// Records -> Examples through a TaskSpec, MeZO's train/dev/eval sampling of JSONL tasks,
// and in-context prompts.
#include "framework/tasks/task.h"

#include <algorithm>

#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/tasks/task_sources.h"

namespace qzo {
namespace {

std::string listing(const std::vector<std::pair<std::string, std::string>>& verbalizer) {
  std::string out;
  for (const auto& [label, word] : verbalizer) out += (out.empty() ? "" : ", ") + label;
  return out;
}

// A list field of texts; a single text counts as a one-element list.
std::vector<std::string> text_list(const nlohmann::json& record, const std::string& path,
                                   const std::string& where) {
  const nlohmann::json* v = find_field(record, path);
  if (!v) fail(where + ": missing field '" + path + "'");
  std::vector<std::string> out;
  if (v->is_array()) {
    for (const auto& item : *v) out.push_back(field_text(item, where, path + "[]"));
  } else {
    out.push_back(field_text(*v, where, path));
  }
  return out;
}

void check_counts(const std::string& task, int n_train, int n_dev) {
  if (n_train < 0 || n_dev < 0)
    fail("task " + task + ": n_train and n_dev must be >= 0, got " + std::to_string(n_train) + " and " +
         std::to_string(n_dev));
}

// A file missing from the cache most likely means setup has not exported it yet, so the
// error says what to run rather than only that the file cannot be read.
void require_setup_file(const std::string& path) {
  if (!file_exists(path))
    fail(path + ": task data file not found (run launch/setup.sh, which exports the tasks it can fetch "
                "there; for other tasks set task.data_dir)");
}

}  // namespace

std::string task_data_dir(const std::string& data_dir) {
  return data_dir.empty() ? cache_dir() + "/data" : data_dir;
}

Example make_example(const TaskSpec& spec, const nlohmann::json& record, const std::string& where) {
  const nlohmann::json* rec = &record;
  nlohmann::json cut;
  if (spec.max_chars > 0) {
    const nlohmann::json* v = find_field(record, spec.truncate_field);
    if (!v) fail(where + ": missing field '" + spec.truncate_field + "'");
    if (!v->is_string()) fail(where + ": field '" + spec.truncate_field + "' (truncate_field) is not text");
    if (v->get_ref<const std::string&>().size() > static_cast<size_t>(spec.max_chars)) {
      std::string pointer = "/" + spec.truncate_field;
      std::replace(pointer.begin(), pointer.end(), '.', '/');
      cut = record;
      cut[nlohmann::json::json_pointer(pointer)] =
          truncate_on_word(v->get<std::string>(), static_cast<size_t>(spec.max_chars));
      rec = &cut;
    }
  }

  Example ex;
  ex.prompt = spec.prompt.render(*rec, where);
  switch (spec.kind) {
    case TaskKind::classification: {
      const nlohmann::json* v = find_field(*rec, spec.label_field);
      if (!v) fail(where + ": missing field '" + spec.label_field + "'");
      const std::string value = field_text(*v, where, spec.label_field);
      for (size_t i = 0; i < spec.verbalizer.size(); ++i) {
        ex.candidates.push_back(spec.candidate_template.render(*rec, where, &spec.verbalizer[i].second));
        if (spec.verbalizer[i].first == value) ex.label = static_cast<int>(i);
      }
      if (ex.label < 0)
        fail(where + ": field '" + spec.label_field + "' is '" + value +
             "', which the verbalizer does not list (" + listing(spec.verbalizer) + ")");
      ex.correct_labels = {ex.label};
      break;
    }
    case TaskKind::multiple_choice: {
      std::vector<std::string> choices;
      if (!spec.candidates_field.empty()) {
        for (std::string& c : text_list(*rec, spec.candidates_field, where))
          if (std::find(choices.begin(), choices.end(), c) == choices.end()) choices.push_back(std::move(c));
      } else {
        for (const std::string& f : spec.candidate_fields) {
          const nlohmann::json* v = find_field(*rec, f);
          if (!v) fail(where + ": missing field '" + f + "'");
          choices.push_back(field_text(*v, where, f));
        }
      }
      if (choices.empty()) fail(where + ": no candidates");  // one is allowed (some ReCoRD passages)
      for (const std::string& c : choices)
        ex.candidates.push_back(spec.candidate_template.render(*rec, where, &c));
      if (!spec.label_field.empty()) {
        const nlohmann::json* v = find_field(*rec, spec.label_field);
        if (!v) fail(where + ": missing field '" + spec.label_field + "'");
        if (!v->is_number_integer() || v->get<int64_t>() < 0 ||
            v->get<int64_t>() >= static_cast<int64_t>(choices.size()))
          fail(where + ": field '" + spec.label_field + "' is " + v->dump() +
               ", expected a candidate index 0.." + std::to_string(choices.size() - 1));
        ex.label = v->get<int>();
        ex.correct_labels = {ex.label};
      } else {
        ex.answers = text_list(*rec, spec.answers_field, where);
        for (size_t i = 0; i < choices.size(); ++i)
          if (std::find(ex.answers.begin(), ex.answers.end(), choices[i]) != ex.answers.end())
            ex.correct_labels.push_back(static_cast<int>(i));
        if (ex.correct_labels.empty())
          fail(where + ": no candidate of '" +
               (spec.candidates_field.empty() ? "candidate_fields" : spec.candidates_field) +
               "' is among the answers in '" + spec.answers_field + "'");
        ex.label = ex.correct_labels.front();
      }
      break;
    }
    case TaskKind::generation:
      ex.answers = text_list(*rec, spec.answers_field, where);
      if (ex.answers.empty()) fail(where + ": field '" + spec.answers_field + "' lists no answer");
      ex.target = spec.candidate_template.render(*rec, where, &ex.answers.front());
      break;
  }
  if (ex.label >= 0) ex.target = ex.candidates[static_cast<size_t>(ex.label)];

  if (!spec.id_field.empty()) {
    const nlohmann::json* v = find_field(*rec, spec.id_field);
    if (!v) fail(where + ": missing field '" + spec.id_field + "'");
    ex.id = v->is_string() ? v->get<std::string>() : v->dump();
  } else {
    ex.id = where;
  }
  return ex;
}

TaskData load_task(const TaskSpec& spec, const std::string& data_dir, int n_train, int n_dev, int n_eval,
                   uint64_t seed) {
  check_counts(spec.name, n_train, n_dev);
  if (spec.source == TaskSource::spam_assassin) return load_spam_task(spec, n_train, n_dev, n_eval, seed);

  const std::string dir = task_data_dir(data_dir);
  const std::string train_path = dir + "/" + spec.train_file;
  const std::string valid_path = dir + "/" + spec.validation_file;
  if (data_dir.empty()) {
    require_setup_file(train_path);
    require_setup_file(valid_path);
  }
  const std::vector<TaskRecord> train = read_jsonl_records(train_path);
  const std::vector<TaskRecord> valid = read_jsonl_records(valid_path);
  const size_t want = static_cast<size_t>(n_train) + static_cast<size_t>(n_dev);
  if (want > train.size())
    fail("task " + spec.name + ": n_train " + std::to_string(n_train) + " + n_dev " + std::to_string(n_dev) +
         " exceeds the " + std::to_string(train.size()) + " examples of " + train_path);

  TaskData data;
  data.spec = spec;
  const std::vector<size_t> order = seeded_permutation(train.size(), seed);
  for (size_t i = 0; i < want; ++i) {
    const TaskRecord& r = train[order[i]];
    (i < static_cast<size_t>(n_train) ? data.train : data.dev)
        .push_back(make_example(spec, r.value, r.where));
  }
  if (n_eval < 0 || static_cast<size_t>(n_eval) >= valid.size()) {
    for (const TaskRecord& r : valid) data.eval.push_back(make_example(spec, r.value, r.where));
  } else {
    const std::vector<size_t> eval_order = seeded_permutation(valid.size(), kEvalSeed);
    for (int i = 0; i < n_eval; ++i) {
      const TaskRecord& r = valid[eval_order[static_cast<size_t>(i)]];
      data.eval.push_back(make_example(spec, r.value, r.where));
    }
  }
  return data;
}

std::string build_icl_prompt(const std::vector<Example>& demos, const Example& query, const TaskSpec& spec) {
  std::string out;
  for (const Example& d : demos) out += d.prompt + d.target + spec.demo_separator;
  return out + query.prompt;
}

}  // namespace qzo
