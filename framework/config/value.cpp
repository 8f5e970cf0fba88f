// Parsing and printing of config values. Number parsing uses std::from_chars so that a
// config reads the same whatever the process locale.
#include "framework/config/value.h"

#include <charconv>
#include <cmath>

namespace qzo {
namespace {

bool any_of(const std::string& s, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (s == w) return true;
  return false;
}

// YAML allows an explicit '+'; from_chars does not.
const char* skip_plus(const std::string& s) {
  return (s.size() > 1 && s[0] == '+' && s[1] != '-') ? s.data() + 1 : s.data();
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const char* first = skip_plus(s);
  const char* last = s.data() + s.size();
  double v = 0;
  auto [ptr, ec] = std::from_chars(first, last, v, std::chars_format::general);
  if (ec != std::errc() || ptr != last || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  const char* first = skip_plus(s);
  const char* last = s.data() + s.size();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(first, last, v, 10);
  if (ec != std::errc() || ptr != last) return std::nullopt;
  return v;
}

struct ValuePrinter {
  std::string operator()(bool b) const { return b ? "true" : "false"; }
  std::string operator()(int64_t i) const { return std::to_string(i); }
  std::string operator()(double d) const { return format_double(d); }
  std::string operator()(const std::string& s) const { return s; }
  std::string operator()(const std::optional<double>& d) const {
    return d ? format_double(*d) : "none";
  }
  template <typename T>
  std::string operator()(const std::vector<T>& list) const {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + (*this)(list[i]);
    return out + "]";
  }
};

}  // namespace

std::string expectation(ValueType type) {
  switch (type) {
    case ValueType::Bool: return "true or false";
    case ValueType::Int: return "an integer";
    case ValueType::Double: return "a number";
    case ValueType::String: return "a string";
    case ValueType::Enum: return "one of its choices";
    case ValueType::OptionalDouble: return "a number or none";
    case ValueType::StringList: return "a list of strings";
    case ValueType::IntList: return "a list of integers";
    case ValueType::DoubleList: return "a list of numbers";
  }
  return "?";
}

std::string type_name(ValueType type) {
  switch (type) {
    case ValueType::Bool: return "bool";
    case ValueType::Int: return "int";
    case ValueType::Double: return "double";
    case ValueType::String: return "string";
    case ValueType::Enum: return "enum";
    case ValueType::OptionalDouble: return "double|none";
    case ValueType::StringList: return "list<string>";
    case ValueType::IntList: return "list<int>";
    case ValueType::DoubleList: return "list<double>";
  }
  return "?";
}

bool is_list(ValueType type) {
  return type == ValueType::StringList || type == ValueType::IntList ||
         type == ValueType::DoubleList;
}

ValueType element_type(ValueType list_type) {
  switch (list_type) {
    case ValueType::StringList: return ValueType::String;
    case ValueType::IntList: return ValueType::Int;
    case ValueType::DoubleList: return ValueType::Double;
    default: return list_type;
  }
}

std::optional<Value> parse_scalar(ValueType type, const std::string& text, bool null_scalar) {
  if (null_scalar && type != ValueType::OptionalDouble) return std::nullopt;
  switch (type) {
    case ValueType::Bool:
      // Only the YAML 1.2 spellings: `yes`/`on` are too easy to write by accident.
      if (any_of(text, {"true", "True", "TRUE"})) return Value(true);
      if (any_of(text, {"false", "False", "FALSE"})) return Value(false);
      return std::nullopt;
    case ValueType::Int:
      if (auto v = parse_int(text)) return Value(*v);
      return std::nullopt;
    case ValueType::Double:
      if (auto v = parse_double(text)) return Value(*v);
      return std::nullopt;
    case ValueType::String:
    case ValueType::Enum:
      return Value(text);
    case ValueType::OptionalDouble:
      if (null_scalar || any_of(text, {"none", "None", "NONE", "null", "Null", "NULL", "~"}))
        return Value(std::optional<double>());
      if (auto v = parse_double(text)) return Value(std::optional<double>(*v));
      return std::nullopt;
    default:
      return std::nullopt;  // lists are sequences, never a single scalar
  }
}

std::string format_double(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ptr);
  const size_t e = s.find('e');
  const std::string mantissa = s.substr(0, e);
  if (mantissa.find('.') == std::string::npos) s.insert(mantissa.size(), ".0");
  return s;
}

std::string format_value(const Value& v) { return std::visit(ValuePrinter{}, v); }

}  // namespace qzo
