// Reading configs/tasks/<name>.yaml into a TaskSpec with yaml-cpp directly (the run-config
// schema has no room for free-form maps such as verbalizers), every error located by line.
#include "framework/tasks/task_spec.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "framework/core/error.h"
#include "framework/core/paths.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

const char* const kKeys[] = {"name",
                             "description",
                             "source",
                             "files",
                             "kind",
                             "metric",
                             "template",
                             "candidate_template",
                             "label_field",
                             "verbalizer",
                             "positive_label",
                             "candidate_fields",
                             "candidates_field",
                             "answers_field",
                             "id_field",
                             "truncate_field",
                             "max_chars",
                             "demo_separator",
                             "maps",
                             "package"};

class SpecReader {
 public:
  SpecReader(const YAML::Node& root, std::string file) : root_(root), file_(std::move(file)) {}

  std::string at(const YAML::Node& node) const {
    const YAML::Mark m = node.Mark();
    return m.line >= 0 ? file_ + ":" + std::to_string(m.line + 1) : file_;
  }
  std::string at_key(const std::string& key) const { return at(key_nodes_.at(key)); }

  void check_keys() {
    for (const auto& entry : root_) {
      const std::string key = entry.first.Scalar();
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
        fail(at(entry.first) + ": unknown key '" + key + "' in a task file (see docs/tasks.md)");
      if (!key_nodes_.emplace(key, entry.first).second)
        fail(at(entry.first) + ": key '" + key + "' appears twice");
    }
  }

  bool has(const std::string& key) const { return key_nodes_.count(key) > 0; }

  std::string text(const std::string& key, const std::string& fallback = "") const {
    if (!has(key)) return fallback;
    const YAML::Node n = root_[key];
    if (!n.IsScalar()) fail(at_key(key) + ": key '" + key + "' expects text");
    return n.Scalar();
  }
  std::string required(const std::string& key, const std::string& why) const {
    if (!has(key)) fail(file_ + ": missing key '" + key + "' (" + why + ")");
    return text(key);
  }
  template <typename E>
  E choice(const std::string& key, const std::vector<std::pair<const char*, E>>& options,
           const std::string& fallback) const {
    const std::string v = fallback.empty() ? required(key, "it has no default") : text(key, fallback);
    std::string names;
    for (const auto& [n, e] : options) {
      if (v == n) return e;
      names += (names.empty() ? "" : " | ") + std::string(n);
    }
    fail((has(key) ? at_key(key) : file_) + ": key '" + key + "' expects " + names + ", got '" + v + "'");
  }
  std::vector<std::string> list(const std::string& key) const {
    if (!has(key)) return {};
    const YAML::Node n = root_[key];
    if (!n.IsSequence()) fail(at_key(key) + ": key '" + key + "' expects a list of field names");
    std::vector<std::string> out;
    for (const auto& item : n) {
      if (!item.IsScalar()) fail(at(item) + ": key '" + key + "' expects a list of field names");
      out.push_back(item.Scalar());
    }
    return out;
  }
  // A mapping of scalars to scalars, in document order.
  std::vector<std::pair<std::string, std::string>> pairs(const YAML::Node& n, const std::string& key) const {
    if (!n.IsMap()) fail(at(n) + ": key '" + key + "' expects a mapping");
    std::vector<std::pair<std::string, std::string>> out;
    std::set<std::string> seen;
    for (const auto& entry : n) {
      if (!entry.first.IsScalar() || !entry.second.IsScalar())
        fail(at(entry.first) + ": key '" + key + "' expects 'value: text' entries");
      if (!seen.insert(entry.first.Scalar()).second)
        fail(at(entry.first) + ": key '" + key + "' lists '" + entry.first.Scalar() + "' twice");
      out.emplace_back(entry.first.Scalar(), entry.second.Scalar());
    }
    return out;
  }
  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }

 private:
  YAML::Node root_;
  std::string file_;
  std::map<std::string, YAML::Node> key_nodes_;
};

}  // namespace

const char* to_string(TaskSource s) { return s == TaskSource::jsonl ? "jsonl" : "spam_assassin"; }
const char* to_string(TaskKind k) {
  switch (k) {
    case TaskKind::classification:
      return "classification";
    case TaskKind::multiple_choice:
      return "multiple_choice";
    case TaskKind::generation:
      return "generation";
  }
  return "?";
}
const char* to_string(TaskMetric m) {
  switch (m) {
    case TaskMetric::accuracy:
      return "accuracy";
    case TaskMetric::f1_macro:
      return "f1_macro";
    case TaskMetric::f1_answer_level:
      return "f1_answer_level";
    case TaskMetric::em_f1:
      return "em_f1";
  }
  return "?";
}

TaskSpec parse_task_spec(const std::string& yaml_text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    fail((e.mark.line >= 0 ? file + ":" + std::to_string(e.mark.line + 1) : file) +
         ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) fail(file + ": expected a mapping of task keys at the top level");
  SpecReader r(root, file);
  r.check_keys();

  TaskSpec s;
  s.file = file;
  s.yaml = yaml_text;
  s.name = r.text("name", fs::path(file).stem().string());
  s.description = r.text("description");
  s.source = r.choice<TaskSource>(
      "source", {{"jsonl", TaskSource::jsonl}, {"spam_assassin", TaskSource::spam_assassin}}, "jsonl");
  s.kind = r.choice<TaskKind>("kind",
                              {{"classification", TaskKind::classification},
                               {"multiple_choice", TaskKind::multiple_choice},
                               {"generation", TaskKind::generation}},
                              "");
  s.metric = r.choice<TaskMetric>("metric",
                                  {{"accuracy", TaskMetric::accuracy},
                                   {"f1_macro", TaskMetric::f1_macro},
                                   {"f1_answer_level", TaskMetric::f1_answer_level},
                                   {"em_f1", TaskMetric::em_f1}},
                                  "accuracy");

  ValueMaps maps;
  if (r.has("maps")) {
    const YAML::Node m = root["maps"];
    if (!m.IsMap()) fail(r.at_key("maps") + ": key 'maps' expects a mapping of named value maps");
    for (const auto& entry : m) {
      auto& table = maps[entry.first.Scalar()];
      for (auto& [k, v] : r.pairs(entry.second, "maps." + entry.first.Scalar())) table[k] = v;
    }
  }
  r.required("template", "the prompt, with {field} placeholders");
  s.prompt = PromptTemplate::parse(r.text("template"), r.at_key("template"), maps);
  s.candidate_template =
      PromptTemplate::parse(r.text("candidate_template", " {candidate}"),
                            r.has("candidate_template") ? r.at_key("candidate_template") : file, maps, true);

  s.label_field = r.text("label_field");
  s.positive_label = r.text("positive_label");
  s.candidate_fields = r.list("candidate_fields");
  s.candidates_field = r.text("candidates_field");
  s.answers_field = r.text("answers_field");
  s.id_field = r.text("id_field");
  s.truncate_field = r.text("truncate_field");
  s.demo_separator = r.text("demo_separator", "\n\n");
  s.spam_package = r.text("package", s.spam_package);
  if (r.has("max_chars")) {
    try {
      s.max_chars = root["max_chars"].as<int>();
    } catch (const YAML::Exception&) {
      fail(r.at_key("max_chars") + ": key 'max_chars' expects a whole number, got '" + r.text("max_chars") +
           "'");
    }
    if (s.max_chars < 0) fail(r.at_key("max_chars") + ": key 'max_chars' must be 0 (no cut) or positive");
    if (s.truncate_field.empty())
      fail(r.at_key("max_chars") + ": key 'max_chars' needs 'truncate_field', the field to cut");
  }
  if (r.has("verbalizer")) s.verbalizer = r.pairs(root["verbalizer"], "verbalizer");

  if (s.source == TaskSource::jsonl) {
    if (!r.has("files")) fail(file + ": missing key 'files' (train: and validation: JSONL paths)");
    const YAML::Node f = root["files"];
    if (!f.IsMap()) fail(r.at_key("files") + ": key 'files' expects train: and validation: paths");
    for (auto& [split, path] : r.pairs(f, "files")) {
      if (split == "train")
        s.train_file = path;
      else if (split == "validation")
        s.validation_file = path;
      else
        fail(r.at_key("files") + ": key 'files' has train: and validation:, got '" + split + "'");
    }
    if (s.train_file.empty() || s.validation_file.empty())
      fail(r.at_key("files") + ": key 'files' needs both train: and validation:");
  } else if (r.has("files")) {
    fail(r.at_key("files") + ": key 'files' is for source jsonl; spam_assassin reads the installed corpus");
  }

  const std::string where_kind = r.at_key("kind");
  switch (s.kind) {
    case TaskKind::classification:
      r.required("label_field", "the record field holding the label");
      if (s.verbalizer.size() < 2)
        fail((r.has("verbalizer") ? r.at_key("verbalizer") : where_kind) +
             ": a classification task needs a verbalizer with at least two labels");
      break;
    case TaskKind::multiple_choice:
      if (s.candidate_fields.empty() == s.candidates_field.empty())
        fail(where_kind +
             ": a multiple_choice task needs exactly one of candidate_fields or candidates_field");
      if (s.label_field.empty() == s.answers_field.empty())
        fail(where_kind +
             ": a multiple_choice task needs exactly one of label_field (index) or answers_field (correct "
             "choices)");
      if (r.has("verbalizer"))
        fail(r.at_key("verbalizer") + ": key 'verbalizer' is for classification tasks");
      break;
    case TaskKind::generation:
      r.required("answers_field", "the record's list of gold answers");
      for (const char* k : {"verbalizer", "label_field", "candidate_fields", "candidates_field"})
        if (r.has(k)) fail(r.at_key(k) + ": key '" + k + "' is not used by generation tasks");
      break;
  }
  const std::string where_metric = r.has("metric") ? r.at_key("metric") : file;
  const bool generation = s.kind == TaskKind::generation;
  if (generation != (s.metric == TaskMetric::em_f1))
    fail(where_metric + ": metric '" + to_string(s.metric) + "' does not fit kind '" + to_string(s.kind) +
         "' (em_f1 is for generation, and generation needs em_f1)");
  if ((s.metric == TaskMetric::f1_macro || s.metric == TaskMetric::f1_answer_level) &&
      s.kind != TaskKind::classification)
    fail(where_metric + ": metric '" + to_string(s.metric) + "' needs kind classification");
  if (s.metric == TaskMetric::f1_answer_level) {
    const bool listed = std::any_of(s.verbalizer.begin(), s.verbalizer.end(),
                                    [&](const auto& p) { return p.first == s.positive_label; });
    if (!listed)
      fail((r.has("positive_label") ? r.at_key("positive_label") : where_metric) +
           ": metric f1_answer_level needs positive_label, one of the verbalizer's labels");
  } else if (r.has("positive_label")) {
    fail(r.at_key("positive_label") + ": key 'positive_label' is only used by metric f1_answer_level");
  }
  if (s.source == TaskSource::spam_assassin && s.kind != TaskKind::classification)
    fail(where_kind + ": source spam_assassin is a classification task (labels spam, ham)");
  return s;
}

TaskSpec load_task_spec(const std::string& name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       fs::path(name_or_path).extension() == ".yaml" ||
                       fs::path(name_or_path).extension() == ".yml";
  if (is_path) return parse_task_spec(read_text_file(name_or_path), name_or_path);
  const std::string local = "configs/tasks/" + name_or_path + ".yaml";
  if (file_exists(local)) return parse_task_spec(read_text_file(local), local);
  const std::string builtin = std::string(QZO_SOURCE_DIR) + "/" + local;
  if (file_exists(builtin)) return parse_task_spec(read_text_file(builtin), builtin);
  std::string known;
  for (const std::string& n : builtin_task_names()) known += (known.empty() ? "" : ", ") + n;
  fail("task '" + name_or_path + "': no " + local + " here or under " + QZO_SOURCE_DIR +
       " (built-in tasks: " + known + ")");
}

std::vector<std::string> builtin_task_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(std::string(QZO_SOURCE_DIR) + "/configs/tasks", ec))
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace qzo
