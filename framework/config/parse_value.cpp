// Reading one key's value from YAML or from override text, with the shared error wording.
#include "framework/config/parse_value.h"

#include "framework/core/error.h"

namespace qzo {


namespace {

std::string describe_node(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return quote_value(node.Scalar());
}

// One scalar (the value, or item `item` of a list when item > 0) parsed and range-checked.
Value read_scalar(const KeySpec& spec, ValueType type, const std::string& text, bool null_scalar,
                  const std::string& where, size_t item) {
  const std::string subject =
      "key '" + spec.path + "'" + (item ? " item " + std::to_string(item) : "");
  const std::string got = null_scalar ? "nothing" : quote_value(text);
  std::optional<Value> v = parse_scalar(type, text, null_scalar);
  if (!v && type == ValueType::Enum) {
    std::string choices;
    for (const std::string& c : spec.choices) choices += (choices.empty() ? "" : ", ") + c;
    fail(where + ": " + subject + " must be one of " + choices + ", got " + got);
  }
  if (!v) fail(where + ": " + subject + " expects " + expectation(type) + ", got " + got);
  const std::string why = spec.violation(*v);
  if (!why.empty())
    fail(where + ": " + subject + " " + why + (type == ValueType::Enum ? "" : ", got " + got));
  return *v;
}

template <typename T>
void append(Value& list, const Value& item) {
  std::get<std::vector<T>>(list).push_back(std::get<T>(item));
}

Value empty_list(ValueType type) {
  if (type == ValueType::StringList) return std::vector<std::string>{};
  if (type == ValueType::IntList) return std::vector<int64_t>{};
  return std::vector<double>{};
}

void push(Value& list, ValueType type, const Value& item) {
  if (type == ValueType::StringList) append<std::string>(list, item);
  else if (type == ValueType::IntList) append<int64_t>(list, item);
  else append<double>(list, item);
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

}  // namespace

Value value_from_yaml(const KeySpec& spec, const YAML::Node& node, const std::string& file,
                      int line) {
  const std::string where = file + ":" + std::to_string(line);
  if (!is_list(spec.type)) {
    if (node.IsSequence() || node.IsMap())
      fail(where + ": key '" + spec.path + "' expects " + expectation(spec.type) + ", got " +
           describe_node(node));
    return read_scalar(spec, spec.type, node.IsNull() ? "" : node.Scalar(), node.IsNull(), where,
                       0);
  }
  if (!node.IsSequence()) {
    const std::string hint = node.IsScalar() && node.Scalar().find_first_of("\n\r") == std::string::npos
                                 ? " (write [" + node.Scalar() + "])"
                                 : "";
    fail(where + ": key '" + spec.path + "' expects " + expectation(spec.type) + ", got " +
         describe_node(node) + hint);
  }
  Value list = empty_list(spec.type);
  size_t item = 0;
  for (const YAML::Node& element : node) {
    ++item;
    const int item_line = element.Mark().line >= 0 ? element.Mark().line + 1 : line;
    const std::string item_where = file + ":" + std::to_string(item_line);
    if (element.IsSequence() || element.IsMap())
      fail(item_where + ": key '" + spec.path + "' item " + std::to_string(item) + " expects " +
           expectation(element_type(spec.type)) + ", got " + describe_node(element));
    push(list, spec.type,
         read_scalar(spec, element_type(spec.type), element.IsNull() ? "" : element.Scalar(),
                     element.IsNull(), item_where, item));
  }
  return list;
}

Value value_from_text(const KeySpec& spec, const std::string& text, const std::string& where) {
  if (!is_list(spec.type)) return read_scalar(spec, spec.type, text, false, where, 0);
  const std::string t = trim(text);
  std::vector<std::string> items;
  if (!t.empty() && t.front() == '[') {
    YAML::Node node;
    try {
      node = YAML::Load(t);
    } catch (const YAML::Exception& e) {
      fail(where + ": key '" + spec.path + "' expects " + expectation(spec.type) + " like [a, b] (" +
           escape_for_message(e.msg) + ")");
    }
    if (!node.IsSequence())
      fail(where + ": key '" + spec.path + "' expects " + expectation(spec.type) + ", got " +
           quote_value(text));
    for (const YAML::Node& element : node) {
      if (!element.IsScalar())
        fail(where + ": key '" + spec.path + "' item " + std::to_string(items.size() + 1) +
             " expects " + expectation(element_type(spec.type)) + ", got " +
             describe_node(element));
      items.push_back(element.Scalar());
    }
  } else if (!t.empty()) {
    size_t start = 0;
    for (;;) {
      const size_t comma = t.find(',', start);
      items.push_back(trim(t.substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  Value list = empty_list(spec.type);
  for (size_t i = 0; i < items.size(); ++i)
    push(list, spec.type,
         read_scalar(spec, element_type(spec.type), items[i], false, where, i + 1));
  return list;
}

}  // namespace qzo
