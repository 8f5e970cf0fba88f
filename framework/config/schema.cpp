// Declaring a Schema: name checks, constraint checks on defaults, and the help listing.
#include "framework/config/schema.h"

#include <cctype>
#include <sstream>

#include "framework/config/parse_value.h"
#include "framework/config/suggest.h"
#include "framework/core/error.h"

namespace qzo {
namespace {

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

std::string leaf(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool is_number_type(ValueType t) {
  return t == ValueType::Int || t == ValueType::Double || t == ValueType::OptionalDouble ||
         t == ValueType::IntList || t == ValueType::DoubleList;
}

// Every scalar a value holds: itself, or each item of a list.
std::vector<Value> scalars_of(const Value& v) {
  if (auto* l = std::get_if<std::vector<std::string>>(&v)) return {l->begin(), l->end()};
  if (auto* l = std::get_if<std::vector<int64_t>>(&v)) return {l->begin(), l->end()};
  if (auto* l = std::get_if<std::vector<double>>(&v)) return {l->begin(), l->end()};
  return {v};
}

// Checks a default (and re-checks it after each added constraint): a bad default is a bug
// in the schema, reported as such.
void check_default(const KeySpec& spec) {
  if (!spec.default_value) return;
  for (const Value& s : scalars_of(*spec.default_value)) {
    const std::string why = spec.violation(s);
    if (!why.empty()) fail("schema: default of '" + spec.path + "' " + why);
  }
}

}  // namespace

std::string KeySpec::violation(const Value& scalar) const {
  if (type == ValueType::Enum) {
    const std::string& s = std::get<std::string>(scalar);
    for (const std::string& c : choices)
      if (s == c) return "";
    std::string why = "must be one of " + join(choices) + ", got " + quote_value(s);
    const std::string near = closest_match(s, choices);
    if (!near.empty()) why += " (did you mean '" + near + "'?)";
    return why;
  }
  double x = 0;
  if (auto* i = std::get_if<int64_t>(&scalar)) x = static_cast<double>(*i);
  else if (auto* d = std::get_if<double>(&scalar)) x = *d;
  else if (auto* o = std::get_if<std::optional<double>>(&scalar); o && o->has_value()) x = **o;
  else return "";
  // Bounds print in the key's own type: "must be >= 1" for an int key, not ">= 1.0".
  auto bound = [&](double b) {
    return (type == ValueType::Int || type == ValueType::IntList)
               ? std::to_string(static_cast<int64_t>(b)) : format_double(b);
  };
  if (min && (min_exclusive ? !(x > *min) : !(x >= *min)))
    return std::string("must be ") + (min_exclusive ? "> " : ">= ") + bound(*min);
  if (max && !(x <= *max)) return "must be <= " + bound(*max);
  return "";
}

// ---- KeyRef

KeySpec& KeyRef::spec() { return schema_->keys_[index_]; }

KeyRef KeyRef::min(double v) {
  KeySpec& s = spec();
  if (!is_number_type(s.type)) fail("schema: min() on non-numeric key '" + s.path + "'");
  s.min = v;
  s.min_exclusive = false;
  check_default(s);
  return *this;
}

KeyRef KeyRef::max(double v) {
  KeySpec& s = spec();
  if (!is_number_type(s.type)) fail("schema: max() on non-numeric key '" + s.path + "'");
  s.max = v;
  check_default(s);
  return *this;
}

KeyRef KeyRef::positive() {
  min(0);
  spec().min_exclusive = true;
  check_default(spec());
  return *this;
}

// ---- Section

Section Section::section(const std::string& name) {
  if (!valid_name(name)) fail("schema: bad section name '" + name + "'");
  const std::string path = prefix_.empty() ? name : prefix_ + "." + name;
  if (schema_->key_index_.count(path)) fail("schema: '" + path + "' is already a key");
  if (prefix_.empty() && name == Schema::kBaseKey)
    fail("schema: '" + name + "' is reserved for config inheritance");
  if (!schema_->sections_.count(path)) {
    schema_->sections_[path];
    schema_->add_child(prefix_, Schema::Child{name, true, 0});
  }
  return Section(schema_, path);
}

KeyRef Section::choice(const std::string& name, std::vector<std::string> choices,
                       const std::string& default_value, const std::string& help) {
  return add(name, ValueType::Enum, Value(default_value), help, std::move(choices));
}

KeyRef Section::choice(const std::string& name, std::vector<std::string> choices, Required,
                       const std::string& help) {
  return add(name, ValueType::Enum, std::nullopt, help, std::move(choices));
}

KeyRef Section::add(const std::string& name, ValueType type, std::optional<Value> default_value,
                    const std::string& help, std::vector<std::string> choices) {
  if (!valid_name(name)) fail("schema: bad key name '" + name + "'");
  const std::string path = prefix_.empty() ? name : prefix_ + "." + name;
  if (prefix_.empty() && name == Schema::kBaseKey)
    fail("schema: '" + name + "' is reserved for config inheritance");
  if (schema_->key_index_.count(path)) fail("schema: key '" + path + "' declared twice");
  if (schema_->sections_.count(path)) fail("schema: '" + path + "' is already a section");
  if (type == ValueType::Enum && choices.empty())
    fail("schema: enum key '" + path + "' has no choices");
  KeySpec spec;
  spec.path = path;
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.help = help;
  spec.choices = std::move(choices);
  check_default(spec);
  const size_t index = schema_->keys_.size();
  schema_->keys_.push_back(std::move(spec));
  schema_->key_index_[path] = index;
  schema_->add_child(prefix_, Schema::Child{name, false, index});
  return KeyRef(schema_, index);
}

// ---- Schema

void Schema::add_child(const std::string& section_path, Child child) {
  sections_[section_path].push_back(std::move(child));
}

const KeySpec* Schema::find_key(const std::string& path) const {
  const size_t i = index_of(path);
  return i == npos ? nullptr : &keys_[i];
}

size_t Schema::index_of(const std::string& path) const {
  auto it = key_index_.find(path);
  return it == key_index_.end() ? npos : it->second;
}

bool Schema::is_section(const std::string& path) const { return sections_.count(path) > 0; }

const std::vector<Schema::Child>& Schema::children(const std::string& section_path) const {
  auto it = sections_.find(section_path);
  if (it == sections_.end()) fail("schema: no section '" + section_path + "'");
  return it->second;
}

std::string Schema::suggest(const std::string& path) const {
  std::vector<std::string> candidates;
  for (const KeySpec& k : keys_) candidates.push_back(k.path);
  for (const auto& [section, children] : sections_)
    if (!section.empty()) candidates.push_back(section);
  std::string near = closest_match(path, candidates);
  if (!near.empty()) return near;
  // A right name in the wrong section ("lr" at the top instead of "optim.lr").
  for (const KeySpec& k : keys_)
    if (leaf(k.path) == leaf(path)) return k.path;
  return "";
}

std::string Schema::describe() const {
  std::ostringstream out;
  for (const KeySpec& k : keys_) {
    out << k.path << "  " << (k.type == ValueType::Enum ? "{" + join(k.choices) + "}"
                                                        : type_name(k.type));
    out << (k.required() ? "  (required)" : "  = " + format_value(*k.default_value));
    // Bounds that only guard an int's width say nothing to a user.
    const bool int_type = k.type == ValueType::Int || k.type == ValueType::IntList;
    if (k.min && !(int_type && *k.min <= std::numeric_limits<int>::min()))
      out << "  " << (k.min_exclusive ? "> " : ">= ")
          << (int_type ? std::to_string(static_cast<int64_t>(*k.min)) : format_double(*k.min));
    if (k.max && !(int_type && *k.max >= std::numeric_limits<int>::max()))
      out << "  <= "
          << (int_type ? std::to_string(static_cast<int64_t>(*k.max)) : format_double(*k.max));
    out << "  " << k.help << "\n";
  }
  return out.str();
}

}  // namespace qzo
