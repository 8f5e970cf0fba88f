// Field readers for tokenizer.json components; every failure is one line naming file and key.
#include "framework/tokenizer/json_fields.h"

#include "framework/core/error.h"
#include "framework/core/quote.h"

namespace qzo::tok {

void JsonPlace::fail(const std::string& what) const { qzo::fail(file + ": " + key + ": " + what); }

std::string shown(const std::string& text) { return quote_value(text); }

const json& required_field(const json& object, const char* field, const JsonPlace& place) {
  if (!object.is_object()) place.fail("expected an object");
  const auto it = object.find(field);
  if (it == object.end()) place.fail(std::string("missing field '") + field + "'");
  return *it;
}

std::string required_string(const json& object, const char* field, const JsonPlace& place) {
  const json& value = required_field(object, field, place);
  if (!value.is_string()) place.at(field).fail("expected a string");
  return value.get<std::string>();
}

std::string string_or(const json& object, const char* field, const std::string& fallback, const JsonPlace& place) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_string()) place.at(field).fail("expected a string");
  return it->get<std::string>();
}

bool bool_or(const json& object, const char* field, bool fallback, const JsonPlace& place) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) place.at(field).fail("expected true or false");
  return it->get<bool>();
}

int64_t int_or(const json& object, const char* field, int64_t fallback, const JsonPlace& place) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) place.at(field).fail("expected an integer");
  return it->get<int64_t>();
}

const json& required_array(const json& object, const char* field, const JsonPlace& place) {
  const json& value = required_field(object, field, place);
  if (!value.is_array()) place.at(field).fail("expected an array");
  return value;
}

std::string component_type(const json& object, const JsonPlace& place) {
  return required_string(object, "type", place);
}

void unsupported_type(const JsonPlace& place, const std::string& type, const char* supported) {
  qzo::fail(place.file + ": unsupported " + place.key + " type " + shown(type) + " (supported: " + supported + ")");
}

Regex compile_pattern(const json& pattern, const JsonPlace& place) {
  if (pattern.is_object()) {
    if (const auto it = pattern.find("String"); it != pattern.end() && it->is_string())
      return Regex::literal(it->get<std::string>(), place.file + ": " + place.key);
    if (const auto it = pattern.find("Regex"); it != pattern.end() && it->is_string())
      return Regex::compile(it->get<std::string>(), place.file + ": " + place.key);
  }
  place.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

}  // namespace qzo::tok
