// YAML file -> Config. Each file is checked against the schema on its own, so an error in a
// `base:` file names that file and its line, not the file that inherited from it.
#include "framework/config/load.h"

#include <filesystem>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "framework/config/parse_value.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

std::string at(const std::string& file, const YAML::Mark& mark) {
  return mark.line >= 0 ? file + ":" + std::to_string(mark.line + 1) : file;
}

std::string did_you_mean(const Schema& schema, const std::string& path) {
  const std::string near = schema.suggest(path);
  return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

std::string node_kind(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "nothing";
  return quote_value(node.Scalar());
}

// Counts a text's documents without building them. YAML::LoadAll never returns on some
// inputs (yaml-cpp 0.7: a document that starts with ',' yields empty documents forever
// without consuming input), so the count stops when the parser stops moving.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  YAML::Mark start = YAML::Mark::null_mark();
};

// The number of documents in `text`; throws YAML::Exception on a syntax error.
size_t count_documents(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  size_t count = 0;
  int last_pos = -1;
  while (parser.HandleNextDocument(counter)) {
    if (counter.start.pos == last_pos)
      fail(at(name, counter.start) + ": YAML syntax error: the parser cannot go past this point");
    last_pos = counter.start.pos;
    ++count;
  }
  return count;
}

class Loader {
 public:
  Loader(const Schema& schema, Config& config) : schema_(schema), config_(config) {}

  // `text` is the content of `name`; `identity` is its canonical path (cycle detection).
  void document(const std::string& text, const std::string& name, const std::string& identity) {
    YAML::Node root;
    try {
      const size_t documents = count_documents(text, name);
      if (documents > 1)
        fail(name + ": expected one YAML document, found " + std::to_string(documents));
      if (documents == 1) root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      fail(at(name, e.mark) + ": YAML syntax error: " + escape_for_message(e.msg));
    }
    if (!root.IsDefined() || root.IsNull()) return;  // an empty file: all defaults
    if (!root.IsMap())
      fail(at(name, root.Mark()) + ": expected a mapping of keys at the top level, got " +
           node_kind(root));

    chain_.push_back({identity, name});
    for (const auto& entry : root)
      if (entry.first.IsScalar() && entry.first.Scalar() == Schema::kBaseKey) {
        base(entry.second, name, entry.first.Mark());
        break;  // a second `base:` is reported by walk() as a duplicate key
      }
    walk(root, "", name);
    chain_.pop_back();
  }

  void file(const std::string& path, const std::string& cited_as) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(path, ec);
    document(read_text_file(path), cited_as, ec ? path : canonical.string());
  }

 private:
  // `base: other.yaml` — the other file is loaded first, relative to this file's folder, and
  // this file's keys then override its values.
  void base(const YAML::Node& node, const std::string& name, const YAML::Mark& mark) {
    if (!node.IsScalar())
      fail(at(name, mark) + ": key 'base' expects the path of a YAML file, got " + node_kind(node));
    const fs::path target = fs::path(name).parent_path() / node.Scalar();
    const std::string cited = target.lexically_normal().string();
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(target, ec);
    const std::string identity = ec ? cited : canonical.string();
    for (const auto& [id, shown] : chain_) {
      if (id != identity) continue;
      std::string cycle;
      for (const auto& link : chain_) cycle += link.second + " -> ";
      fail(at(name, mark) + ": base " + quote_value(node.Scalar()) + " forms a cycle: " + cycle + cited);
    }
    if (!file_exists(target.string()))
      fail(at(name, mark) + ": base " + quote_value(node.Scalar()) + " not found (looked for " +
           escape_for_message(cited) + ")");
    // A folder reads as empty text and /dev/zero never ends: only a regular file is a config.
    if (!fs::is_regular_file(target, ec))
      fail(at(name, mark) + ": base " + quote_value(node.Scalar()) + " is not a regular file (" +
           escape_for_message(cited) + ")");
    file(target.string(), cited);
  }

  void walk(const YAML::Node& map, const std::string& prefix, const std::string& name) {
    std::vector<std::pair<std::string, int>> seen;  // key -> line, to catch duplicates
    for (const auto& entry : map) {  // by value: yaml-cpp's operator-> yields a temporary
      const YAML::Node key = entry.first;
      const YAML::Node value = entry.second;
      const std::string where = at(name, key.Mark());
      if (!key.IsScalar()) fail(where + ": keys must be plain names, got " + node_kind(key));
      const std::string& word = key.Scalar();
      const std::string path = prefix.empty() ? word : prefix + "." + word;
      for (const auto& [other, line] : seen)
        if (other == word)
          fail(where + ": duplicate key " + quote_value(path) + " (first set at line " +
               std::to_string(line) + ")");
      seen.emplace_back(word, key.Mark().line + 1);
      if (prefix.empty() && word == Schema::kBaseKey) continue;  // read by document()

      if (schema_.is_section(path)) {
        if (value.IsNull()) continue;  // "optim:" with nothing under it
        if (!value.IsMap())
          fail(where + ": '" + path + "' is a section and expects a mapping of keys, got " +
               node_kind(value));
        walk(value, path, name);
      } else if (const KeySpec* spec = schema_.find_key(path)) {
        config_.assign(path, value_from_yaml(*spec, value, name, key.Mark().line + 1), where);
      } else {
        fail(where + ": unknown key " + quote_value(path) + did_you_mean(schema_, path));
      }
    }
  }

  const Schema& schema_;
  Config& config_;
  std::vector<std::pair<std::string, std::string>> chain_;  // (identity, name) being read
};

Config finish(Config config, const std::vector<std::string>& overrides) {
  apply_overrides(config, overrides);
  config.check_complete();
  return config;
}

}  // namespace

void apply_overrides(Config& config, const std::vector<std::string>& overrides) {
  const Schema& schema = config.schema();
  for (const std::string& o : overrides) {
    const std::string where = "--set " + o;
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) fail(where + ": expected key=value");
    const std::string key = o.substr(0, eq);
    const std::string text = o.substr(eq + 1);
    if (schema.is_section(key)) {
      std::string example;
      for (const Schema::Child& c : schema.children(key))
        if (!c.is_section) {
          example = " such as '" + key + "." + c.name + "'";
          break;
        }
      fail(where + ": '" + key + "' is a section; set one of its keys" + example);
    }
    const KeySpec* spec = schema.find_key(key);
    if (!spec) fail(where + ": unknown key '" + key + "'" + did_you_mean(schema, key));
    config.assign(key, value_from_text(*spec, text, where), where);
  }
}

Config load_config(const std::string& path, const Schema& schema,
                   const std::vector<std::string>& overrides) {
  Config config(std::make_shared<const Schema>(schema), path);
  Loader(schema, config).file(path, path);
  return finish(std::move(config), overrides);
}

Config load_config_text(const std::string& yaml, const std::string& name, const Schema& schema,
                        const std::vector<std::string>& overrides) {
  Config config(std::make_shared<const Schema>(schema), name);
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(name, ec);
  Loader(schema, config).document(yaml, name, ec ? name : canonical.string());
  return finish(std::move(config), overrides);
}

}  // namespace qzo
