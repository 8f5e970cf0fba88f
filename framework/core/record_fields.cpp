// Typed fields of report records (record_fields.h).
#include "framework/core/record_fields.h"

#include <cstdio>

#include "framework/core/error.h"

namespace qzo {

std::string format_number(const char* f, double v) {
  char text[64];
  std::snprintf(text, sizeof text, f, v);
  return text;
}

const nlohmann::json& record_key(const nlohmann::json& j, const std::string& name, const std::string& origin) {
  if (!j.is_object() || !j.contains(name)) fail(origin + ": key '" + name + "' is missing");
  return j[name];
}

double record_number(const nlohmann::json& j, const std::string& name, const std::string& origin) {
  const nlohmann::json& v = record_key(j, name, origin);
  if (!v.is_number()) fail(origin + ": key '" + name + "' must be a number");
  return v.get<double>();
}

std::string record_text(const nlohmann::json& j, const std::string& name, const std::string& origin) {
  const nlohmann::json& v = record_key(j, name, origin);
  if (!v.is_string()) fail(origin + ": key '" + name + "' must be a string");
  return v.get<std::string>();
}

}  // namespace qzo
