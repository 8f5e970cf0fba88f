// Reading tokenizer.json components with errors that name the file and the key at fault
// ("tokenizer.json: pre_tokenizer.pretokenizers[0].pattern: ...").
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "framework/tokenizer/regex.h"

namespace qzo::tok {

using nlohmann::json;

struct JsonPlace {
  std::string file;
  std::string key;

  JsonPlace at(const std::string& field) const { return {file, key + "." + field}; }
  JsonPlace at(size_t index) const { return {file, key + "[" + std::to_string(index) + "]"}; }
  [[noreturn]] void fail(const std::string& what) const;
};

// A token or value from the file in single quotes, fit for a one-line message: control bytes
// (a "\n" token is common) as \n or \xNN, long text cut short.
std::string shown(const std::string& text);

const json& required_field(const json& object, const char* field, const JsonPlace& place);
std::string required_string(const json& object, const char* field, const JsonPlace& place);
std::string string_or(const json& object, const char* field, const std::string& fallback, const JsonPlace& place);
bool bool_or(const json& object, const char* field, bool fallback, const JsonPlace& place);
int64_t int_or(const json& object, const char* field, int64_t fallback, const JsonPlace& place);
const json& required_array(const json& object, const char* field, const JsonPlace& place);

// The component's "type"; fails when the object has none.
std::string component_type(const json& object, const JsonPlace& place);
[[noreturn]] void unsupported_type(const JsonPlace& place, const std::string& type, const char* supported);

// A Split/Replace pattern: {"String": "..."} (literal) or {"Regex": "..."}.
Regex compile_pattern(const json& pattern, const JsonPlace& place);

}  // namespace qzo::tok
