// Typed access to a resolved Config, programmatic overrides, and its YAML dump and hash.
#include "framework/config/config.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include <yaml-cpp/yaml.h>

#include "framework/config/parse_value.h"
#include "framework/core/error.h"

namespace qzo {
namespace {

// Strings that a YAML reader (yaml-cpp, or a YAML 1.1 one such as PyYAML) would take for a
// number, bool or null are quoted, so the dump reads back as the same strings everywhere.
bool needs_quotes(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back())))
    return true;
  const char c = s.front();
  if (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.') return true;
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (const char* word : {"null", "~", "none", "true", "false", "yes", "no", "on", "off", "y", "n"})
    if (lower == word) return true;
  return false;
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (needs_quotes(s)) out << YAML::DoubleQuoted;
  out << s;
}

void emit_value(YAML::Emitter& out, const Value& v) {
  if (auto* s = std::get_if<std::string>(&v)) return emit_string(out, *s);
  if (auto* l = std::get_if<std::vector<std::string>>(&v)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const std::string& s : *l) emit_string(out, s);
    out << YAML::EndSeq;
    return;
  }
  if (auto* l = std::get_if<std::vector<int64_t>>(&v)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (int64_t i : *l) out << i;
    out << YAML::EndSeq;
    return;
  }
  if (auto* l = std::get_if<std::vector<double>>(&v)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (double d : *l) out << format_double(d);
    out << YAML::EndSeq;
    return;
  }
  out << format_value(v);  // bool, int, double, double|none: plain scalars
}

bool section_has_keys(const Schema& schema, const std::string& path) {
  for (const Schema::Child& c : schema.children(path))
    if (!c.is_section || section_has_keys(schema, path.empty() ? c.name : path + "." + c.name))
      return true;
  return false;
}

// The variant alternative each key type is stored as.
bool holds(ValueType type, const Value& v) {
  switch (type) {
    case ValueType::Bool: return std::holds_alternative<bool>(v);
    case ValueType::Int: return std::holds_alternative<int64_t>(v);
    case ValueType::Double: return std::holds_alternative<double>(v);
    case ValueType::String:
    case ValueType::Enum: return std::holds_alternative<std::string>(v);
    case ValueType::OptionalDouble: return std::holds_alternative<std::optional<double>>(v);
    case ValueType::StringList: return std::holds_alternative<std::vector<std::string>>(v);
    case ValueType::IntList: return std::holds_alternative<std::vector<int64_t>>(v);
    case ValueType::DoubleList: return std::holds_alternative<std::vector<double>>(v);
  }
  return false;
}

}  // namespace

Config::Config(std::shared_ptr<const Schema> schema, std::string source)
    : schema_(std::move(schema)), source_(std::move(source)) {
  if (!schema_) fail("config: no schema");
  for (const KeySpec& k : schema_->keys()) entries_.push_back({k.default_value, "default"});
}

size_t Config::index(const std::string& key) const {
  const size_t i = schema_->index_of(key);
  if (i == Schema::npos) {
    const std::string near = schema_->suggest(key);
    fail("config: no key '" + key + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)"));
  }
  return i;
}

const Value& Config::value(const std::string& key) const {
  const Entry& e = entries_[index(key)];
  if (!e.value) fail(source_ + ": missing required key '" + key + "'");
  return *e.value;
}

const Value& Config::typed(const std::string& key, ValueType want, const char* asked) const {
  const ValueType have = schema_->keys()[index(key)].type;
  const bool ok = have == want || (want == ValueType::String && have == ValueType::Enum);
  if (!ok) {
    const std::string hint =
        have == ValueType::OptionalDouble ? " (use get_optional_double)" : "";
    fail("config: key '" + key + "' is " + type_name(have) + ", read as " + asked + hint);
  }
  return value(key);
}

template <> bool Config::get<bool>(const std::string& key) const {
  return std::get<bool>(typed(key, ValueType::Bool, "bool"));
}
template <> int64_t Config::get<int64_t>(const std::string& key) const {
  return std::get<int64_t>(typed(key, ValueType::Int, "int"));
}
template <> int Config::get<int>(const std::string& key) const {
  const int64_t v = get<int64_t>(key);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    fail(where(key) + ": key '" + key + "' = " + std::to_string(v) + " does not fit an int");
  return static_cast<int>(v);
}
template <> double Config::get<double>(const std::string& key) const {
  return std::get<double>(typed(key, ValueType::Double, "double"));
}
template <> std::string Config::get<std::string>(const std::string& key) const {
  return std::get<std::string>(typed(key, ValueType::String, "string"));
}

template <> std::vector<std::string> Config::get_list<std::string>(const std::string& key) const {
  return std::get<std::vector<std::string>>(typed(key, ValueType::StringList, "list<string>"));
}
template <> std::vector<int64_t> Config::get_list<int64_t>(const std::string& key) const {
  return std::get<std::vector<int64_t>>(typed(key, ValueType::IntList, "list<int>"));
}
template <> std::vector<int> Config::get_list<int>(const std::string& key) const {
  std::vector<int> out;
  for (int64_t v : get_list<int64_t>(key)) {
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      fail(where(key) + ": key '" + key + "' item " + std::to_string(v) + " does not fit an int");
    out.push_back(static_cast<int>(v));
  }
  return out;
}
template <> std::vector<double> Config::get_list<double>(const std::string& key) const {
  return std::get<std::vector<double>>(typed(key, ValueType::DoubleList, "list<double>"));
}

std::optional<double> Config::get_optional_double(const std::string& key) const {
  return std::get<std::optional<double>>(typed(key, ValueType::OptionalDouble, "double|none"));
}

bool Config::has(const std::string& key) const { return schema_->index_of(key) != Schema::npos; }

const std::string& Config::where(const std::string& key) const { return entries_[index(key)].origin; }

void Config::set(const std::string& key, const std::string& text) {
  const std::string where = "set " + key + "=" + text;
  const size_t i = schema_->index_of(key);
  if (i == Schema::npos) {
    const std::string near = schema_->suggest(key);
    fail(where + ": unknown key '" + key + "'" +
         (near.empty() ? "" : " (did you mean '" + near + "'?)"));
  }
  entries_[i] = {value_from_text(schema_->keys()[i], text, where), where};
}

void Config::assign(const std::string& key, Value value, std::string origin) {
  const size_t i = index(key);
  if (!holds(schema_->keys()[i].type, value))
    fail("config: value for '" + key + "' is not of type " + type_name(schema_->keys()[i].type));
  entries_[i] = {std::move(value), std::move(origin)};
}

void Config::check_complete() const {
  std::vector<std::string> missing;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (!entries_[i].value) missing.push_back("'" + schema_->keys()[i].path + "'");
  if (missing.empty()) return;
  std::string list;
  for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
  fail(source_ + ": missing required key" + (missing.size() > 1 ? "s " : " ") + list);
}

std::string Config::to_yaml() const {
  check_complete();
  YAML::Emitter out;
  // Recursion over the schema's sections keeps declaration order, not alphabetical order.
  struct Writer {
    const Config& config;
    YAML::Emitter& out;
    void section(const std::string& path) {
      out << YAML::BeginMap;
      for (const Schema::Child& c : config.schema().children(path)) {
        const std::string child = path.empty() ? c.name : path + "." + c.name;
        if (c.is_section && !section_has_keys(config.schema(), child)) continue;
        out << YAML::Key << c.name << YAML::Value;
        if (c.is_section) section(child);
        else emit_value(out, *config.entries_[c.key_index].value);
      }
      out << YAML::EndMap;
    }
  };
  Writer{*this, out}.section("");
  if (!out.good()) fail("config: cannot write YAML: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

uint64_t Config::hash() const {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : to_yaml()) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

bool Config::operator==(const Config& other) const {
  if (schema_->keys().size() != other.schema_->keys().size()) return false;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (schema_->keys()[i].path != other.schema_->keys()[i].path) return false;
    if (entries_[i].value != other.entries_[i].value) return false;
  }
  return true;
}

}  // namespace qzo
