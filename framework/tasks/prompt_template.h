// A task's prompt template: literal text with {field} placeholders over a JSON record
// (dotted paths reach nested fields) and small, named filters ({question|upper_first}).
// Parsed once when the task YAML loads, so a typo is reported at the YAML's line.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace qzo {

// Named value maps declared under a task's `maps:` key, usable as filters:
// maps {connective: {cause: because, effect: so}} makes {question|connective} valid.
using ValueMaps = std::map<std::string, std::map<std::string, std::string>>;

class PromptTemplate {
 public:
  PromptTemplate() = default;
  // `where` ("configs/tasks/copa.yaml:7") prefixes every parse error. With
  // allow_candidate, {candidate} and the fill filter refer to the candidate being rendered.
  static PromptTemplate parse(const std::string& text, const std::string& where, const ValueMaps& maps = {},
                              bool allow_candidate = false);

  // `record_where` ("train.jsonl:12") prefixes errors about the record: a missing field, a
  // field that is not text, a value that a map does not list.
  std::string render(const nlohmann::json& record, const std::string& record_where,
                     const std::string* candidate = nullptr) const;

  const std::string& text() const { return text_; }
  std::vector<std::string> fields() const;  // record paths it reads, in order of appearance

 private:
  struct Filter {
    std::string name;  // a built-in filter or a key of maps_
    std::string arg;   // replace: "from"; fill: the token to replace
    std::string arg2;  // replace: "to"
  };
  struct Piece {
    std::string literal;  // used when path is empty
    std::string path;     // "candidate" for the candidate itself
    std::vector<Filter> filters;
  };
  std::string apply(const Filter& f, std::string value, const std::string& record_where,
                    const std::string& path, const std::string* candidate) const;

  std::string text_;
  ValueMaps maps_;
  std::vector<Piece> pieces_;
};

// Text of the value at a dotted path ("answers.text" is a list there; "label" may be a number
// or a bool, rendered as JSON writes it). Returns nullptr when the path is absent or null.
const nlohmann::json* find_field(const nlohmann::json& record, const std::string& path);
// A scalar field as text: strings as they are, numbers and bools as JSON writes them.
// Throws "<record_where>: field 'x' is <kind>, expected text" for lists and objects.
std::string field_text(const nlohmann::json& value, const std::string& record_where, const std::string& path);

}  // namespace qzo
