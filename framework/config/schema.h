// The schema every run config is checked against, declared in code:
//   Schema s;
//   s.section("optim").key<double>("lr", 1e-5, "learning rate").min(0);
//   s.section("method").choice("name", {"qzo", "mezo"}, "qzo", "training method");
//   s.section("model").key<std::string>("path", required_key, "HF model folder");
#pragma once
#include <cstddef>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/value.h"

namespace qzo {

// Marks a key that has no default and must be written: key<std::string>("path", required_key,
// ...). Required cannot be made from `{}`, so `{}` as a default always means an empty value.
struct Required {
  struct Token {};
  constexpr explicit Required(Token) {}
};
inline constexpr Required required_key{Required::Token{}};

struct KeySpec {
  std::string path;  // dotted, e.g. "optim.lr"
  ValueType type = ValueType::String;
  std::optional<Value> default_value;  // empty: the key is required
  std::string help;
  std::optional<double> min, max;  // numbers, and each item of a number list
  bool min_exclusive = false;
  std::vector<std::string> choices;  // Enum only

  bool required() const { return !default_value.has_value(); }
  // Why a single scalar (a value, or one item of a list) breaks the constraints:
  // "must be >= 0", "must be one of qzo, mezo, got 'qz' (did you mean 'qzo'?)"; empty if fine.
  std::string violation(const Value& scalar) const;
};

class Schema;

// Handle returned by a key declaration to add constraints: .min(0).max(1).
class KeyRef {
 public:
  KeyRef(Schema* schema, size_t index) : schema_(schema), index_(index) {}
  KeyRef min(double v);       // value >= v
  KeyRef max(double v);       // value <= v
  KeyRef positive();          // value > 0

 private:
  KeySpec& spec();
  Schema* schema_;
  size_t index_;
};

namespace config_detail {
template <typename T> struct Traits;
template <> struct Traits<bool> { static constexpr ValueType type = ValueType::Bool; };
template <> struct Traits<int> { static constexpr ValueType type = ValueType::Int; };
template <> struct Traits<int64_t> { static constexpr ValueType type = ValueType::Int; };
template <> struct Traits<double> { static constexpr ValueType type = ValueType::Double; };
template <> struct Traits<std::string> { static constexpr ValueType type = ValueType::String; };
template <> struct Traits<const char*> { static constexpr ValueType type = ValueType::String; };
template <> struct Traits<std::optional<double>> {
  static constexpr ValueType type = ValueType::OptionalDouble;
};
template <> struct Traits<std::vector<std::string>> {
  static constexpr ValueType type = ValueType::StringList;
};
template <> struct Traits<std::vector<int>> { static constexpr ValueType type = ValueType::IntList; };
template <> struct Traits<std::vector<int64_t>> {
  static constexpr ValueType type = ValueType::IntList;
};
template <> struct Traits<std::vector<double>> {
  static constexpr ValueType type = ValueType::DoubleList;
};

inline Value to_value(bool v) { return v; }
inline Value to_value(int v) { return int64_t{v}; }
inline Value to_value(int64_t v) { return v; }
inline Value to_value(double v) { return v; }
inline Value to_value(const std::string& v) { return v; }
inline Value to_value(const char* v) { return std::string(v); }
inline Value to_value(const std::optional<double>& v) { return v; }
inline Value to_value(const std::vector<std::string>& v) { return v; }
inline Value to_value(const std::vector<int64_t>& v) { return v; }
inline Value to_value(const std::vector<double>& v) { return v; }
inline Value to_value(const std::vector<int>& v) {
  return std::vector<int64_t>(v.begin(), v.end());
}
// Keys declared as int (or list of int) are bounded so that get<int> can never overflow.
template <typename T> constexpr bool is_narrow_int =
    std::is_same_v<T, int> || std::is_same_v<T, std::vector<int>>;
}  // namespace config_detail

// A view of one section of a Schema (the root when prefix is empty). Cheap to copy; valid as
// long as its Schema is alive and not moved.
class Section {
 public:
  Section(Schema* schema, std::string prefix) : schema_(schema), prefix_(std::move(prefix)) {}

  Section section(const std::string& name);

  template <typename T>
  KeyRef key(const std::string& name, T default_value, const std::string& help) {
    return bound<T>(add(name, config_detail::Traits<T>::type,
                        config_detail::to_value(default_value), help, {}));
  }
  template <typename T>
  KeyRef key(const std::string& name, Required, const std::string& help) {
    return bound<T>(add(name, config_detail::Traits<T>::type, std::nullopt, help, {}));
  }
  KeyRef choice(const std::string& name, std::vector<std::string> choices,
                const std::string& default_value, const std::string& help);
  KeyRef choice(const std::string& name, std::vector<std::string> choices, Required,
                const std::string& help);

 private:
  KeyRef add(const std::string& name, ValueType type, std::optional<Value> default_value,
             const std::string& help, std::vector<std::string> choices);
  template <typename T>
  KeyRef bound(KeyRef ref) {
    if constexpr (config_detail::is_narrow_int<T>)
      return ref.min(std::numeric_limits<int>::min()).max(std::numeric_limits<int>::max());
    return ref;
  }

  Schema* schema_;
  std::string prefix_;
};

class Schema {
 public:
  // One entry of a section, in declaration order (the order to_yaml writes).
  struct Child {
    std::string name;
    bool is_section = false;
    size_t key_index = 0;  // into keys(), when !is_section
  };

  Schema() = default;

  Section section(const std::string& name) { return Section(this, "").section(name); }
  template <typename T>
  KeyRef key(const std::string& name, T default_value, const std::string& help) {
    return Section(this, "").key<T>(name, std::move(default_value), help);
  }
  template <typename T>
  KeyRef key(const std::string& name, Required r, const std::string& help) {
    return Section(this, "").key<T>(name, r, help);
  }
  KeyRef choice(const std::string& name, std::vector<std::string> choices,
                const std::string& default_value, const std::string& help) {
    return Section(this, "").choice(name, std::move(choices), default_value, help);
  }
  KeyRef choice(const std::string& name, std::vector<std::string> choices, Required r,
                const std::string& help) {
    return Section(this, "").choice(name, std::move(choices), r, help);
  }

  const std::vector<KeySpec>& keys() const { return keys_; }
  const KeySpec* find_key(const std::string& path) const;  // nullptr if not a key
  size_t index_of(const std::string& path) const;          // npos if not a key
  bool is_section(const std::string& path) const;          // "" is the root section
  const std::vector<Child>& children(const std::string& section_path) const;
  // Closest declared key or section to a mistyped path, or "" when nothing is close.
  std::string suggest(const std::string& path) const;
  // One line per key: "optim.lr  double = 1.0e-05  (>= 0)  learning rate".
  std::string describe() const;

  static constexpr size_t npos = static_cast<size_t>(-1);
  static constexpr const char* kBaseKey = "base";  // reserved: a file's parent config

 private:
  friend class Section;
  friend class KeyRef;
  void add_child(const std::string& section_path, Child child);

  std::vector<KeySpec> keys_;
  std::map<std::string, size_t> key_index_;
  std::map<std::string, std::vector<Child>> sections_{{"", {}}};
};

}  // namespace qzo
