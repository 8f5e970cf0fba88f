// A resolved run configuration: every key of its Schema holds a value (from the file, a
// --set override, set(), or the default), read back through typed getters by dotted path.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framework/config/schema.h"

namespace qzo {

class Config {
 public:
  // All keys at their defaults; required keys stay empty until assigned.
  Config(std::shared_ptr<const Schema> schema, std::string source);

  // T: bool, int, int64_t, double, std::string (also for enum keys). Throws when the key is
  // unknown or declared with another type; an optional-double key needs get_optional_double.
  template <typename T> T get(const std::string& key) const;
  // T: std::string, int, int64_t, double.
  template <typename T> std::vector<T> get_list(const std::string& key) const;
  std::optional<double> get_optional_double(const std::string& key) const;  // nullopt: none
  bool has(const std::string& key) const;  // the schema declares this key

  // Where a key's value came from, for errors found after loading (cross-key checks):
  // "configs/x.yaml:12", "--set optim.lr=1e-6", "set seed=3" or "default".
  const std::string& where(const std::string& key) const;

  // Parses `text` exactly as a --set value; used by sweeps. Throws
  // "set optim.lr=abc: key 'optim.lr' expects a number, got 'abc'".
  void set(const std::string& key, const std::string& text);
  // Stores an already parsed value (the loader's entry point); its type must match the key.
  void assign(const std::string& key, Value value, std::string origin);
  // Throws "<source>: missing required key 'model.path'" when a required key has no value.
  void check_complete() const;

  // Every key in schema order, defaults filled in; load_config_text(to_yaml()) gives back an
  // equal Config.
  std::string to_yaml() const;
  // 64-bit FNV-1a of to_yaml(): equal on every rank that resolved the same configuration.
  uint64_t hash() const;

  const std::string& source() const { return source_; }  // the file it was loaded from
  const Schema& schema() const { return *schema_; }
  const Value& value(const std::string& key) const;
  bool operator==(const Config& other) const;  // same values; origins are ignored
  bool operator!=(const Config& other) const { return !(*this == other); }

 private:
  struct Entry {
    std::optional<Value> value;
    std::string origin;
  };
  size_t index(const std::string& key) const;                             // throws if unknown
  const Value& typed(const std::string& key, ValueType want, const char* asked) const;

  std::shared_ptr<const Schema> schema_;
  std::string source_;
  std::vector<Entry> entries_;  // parallel to schema_->keys()
};

template <> bool Config::get<bool>(const std::string& key) const;
template <> int Config::get<int>(const std::string& key) const;
template <> int64_t Config::get<int64_t>(const std::string& key) const;
template <> double Config::get<double>(const std::string& key) const;
template <> std::string Config::get<std::string>(const std::string& key) const;
template <> std::vector<std::string> Config::get_list<std::string>(const std::string& key) const;
template <> std::vector<int> Config::get_list<int>(const std::string& key) const;
template <> std::vector<int64_t> Config::get_list<int64_t>(const std::string& key) const;
template <> std::vector<double> Config::get_list<double>(const std::string& key) const;

}  // namespace qzo
