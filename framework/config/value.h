// The typed values a config key can hold, and the one parser that turns written text
// (a YAML scalar or a --set value) into them, so files and overrides obey the same rules.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace qzo {

enum class ValueType {
  Bool,
  Int,
  Double,
  String,
  Enum,            // a string from a fixed set of choices
  OptionalDouble,  // a number, or `none` meaning disabled (e.g. clip_threshold)
  StringList,
  IntList,
  DoubleList,
};

// Enum values are held as std::string; ints as int64_t whatever width the schema asked for.
using Value = std::variant<bool, int64_t, double, std::string, std::optional<double>,
                           std::vector<std::string>, std::vector<int64_t>, std::vector<double>>;

// What a key of this type expects, as said in error messages ("an integer", "a number or none").
std::string expectation(ValueType type);
// Short type name for help listings ("int", "list<double>").
std::string type_name(ValueType type);
bool is_list(ValueType type);
ValueType element_type(ValueType list_type);  // StringList -> String, ...

// Parses one scalar's text as `type` (not a list type). Returns nullopt when the text is not
// of that type; `null_scalar` marks a YAML null (`key:` or `~`), which only OptionalDouble accepts.
std::optional<Value> parse_scalar(ValueType type, const std::string& text, bool null_scalar = false);

// Numbers print so that they re-parse to the identical double and read as floats to any
// YAML reader (always a '.' in the mantissa): 1e-05 -> "1.0e-05", 2 -> "2.0".
std::string format_double(double v);
// Value as it would be written in YAML flow style: 1.0e-05, none, [a, b], true.
std::string format_value(const Value& v);

}  // namespace qzo
