// Parsing and expanding sweep files (see sweep_spec.h).
#include "framework/sweep/sweep_spec.h"

#include <filesystem>
#include <map>
#include <set>

#include "framework/config/load.h"
#include "framework/config/parse_value.h"
#include "framework/config/suggest.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"

namespace qzo {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSweepKeys = {"name", "base", "output", "set", "grid", "zip"};
// Every run's config is built before anything runs: a grid past this is a typo, not a plan.
constexpr size_t kMaxRuns = 10'000;

int line_of(const YAML::Node& node) { return node.Mark().line + 1; }

std::string at(const std::string& file, const YAML::Node& node) {
  return file + ":" + std::to_string(line_of(node));
}

std::string node_kind(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "nothing";
  return quote_value(node.Scalar());
}

// A mapping key as text; `{a: 1}: x` or `[a]: x` are keys YAML allows and a sweep does not.
std::string key_text(const std::string& file, const YAML::Node& key) {
  if (!key.IsScalar()) fail(at(file, key) + ": keys must be plain names, got " + node_kind(key));
  return key.Scalar();
}

// The text a value was written with, for run names and labels.
std::string written_text(const YAML::Node& node) {
  if (node.IsNull()) return "none";
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

class SweepParser {
 public:
  SweepParser(const std::string& file, const Schema& schema) : file_(file), schema_(schema) {}

  // `key` must have passed check_key.
  SweepValue value(const std::string& key, const YAML::Node& node) {
    const int line = line_of(node);
    // Checked now, so that a sweep with a bad value fails before any run starts.
    value_from_yaml(*schema_.find_key(key), node, file_, line);
    return {key, node, line};
  }

  // A key may appear once in the whole file, and log.name is the sweep's to set.
  void check_key(const std::string& key, const YAML::Node& key_node, const char* section) {
    const std::string where = at(file_, key_node);
    if (schema_.is_section(key))
      fail(where + ": '" + key + "' in " + section + " is a section, not a key (write e.g. '" + key + "." +
           schema_.children(key).front().name + "')");
    if (!schema_.find_key(key)) {
      const std::string near = schema_.suggest(key);
      fail(where + ": unknown key " + quote_value(key) + " in " + section +
           (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
    if (key == "log.name")
      fail(where + ": key 'log.name' cannot be swept: the sweep names each run after its axis values");
    const auto [it, fresh] = seen_.emplace(key, section);
    if (!fresh) fail(where + ": key '" + key + "' in " + section + " is already given in " + it->second);
  }

  SweepAxis axis(const YAML::Node& group, const char* section) {
    if (!group.IsMap() || group.size() == 0)
      fail(at(file_, group) + ": " + section + " must map config keys to lists of values");
    SweepAxis axis;
    size_t length = 0;
    for (const auto& entry : group) {
      const std::string key = key_text(file_, entry.first);
      const YAML::Node& values = entry.second;
      if (!values.IsSequence() || values.size() == 0)
        fail(at(file_, entry.first) + ": " + section + " key " + quote_value(key) + " needs a non-empty list of values");
      if (axis.keys.empty()) {
        length = values.size();
        axis.points.resize(length);
      } else if (values.size() != length) {
        fail(at(file_, entry.first) + ": zip key " + quote_value(key) + " has " + std::to_string(values.size()) +
             " values but '" + axis.keys.front() + "' has " + std::to_string(length));
      }
      check_key(key, entry.first, section);
      axis.keys.push_back(key);
      for (size_t i = 0; i < length; ++i) axis.points[i].push_back(value(key, values[i]));
    }
    return axis;
  }

 private:
  std::string file_;
  const Schema& schema_;
  std::map<std::string, std::string> seen_;
};

std::string text_scalar(const std::string& file, const YAML::Node& node, const char* key) {
  if (!node.IsScalar()) fail(at(file, node) + ": sweep key '" + key + "' expects a string");
  return node.Scalar();
}

void assign_written(Config& config, const SweepValue& v, const std::string& file) {
  const std::string origin = file + ":" + std::to_string(v.line);
  config.assign(v.key, value_from_yaml(*config.schema().find_key(v.key), v.node, file, v.line), origin);
}

}  // namespace

SweepSpec load_sweep(const std::string& path, const Schema& schema) {
  if (!file_exists(path)) fail(path + ": no such sweep file");
  SweepSpec spec;
  spec.file = path;
  spec.text = read_text_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(spec.text);
  } catch (const YAML::Exception& e) {
    fail(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML (" + escape_for_message(e.msg) + ")");
  }
  if (!root.IsMap()) fail(path + ": a sweep file maps name, base, output, set, grid and zip");
  SweepParser parser(path, schema);
  for (const auto& entry : root) {
    const std::string key = key_text(path, entry.first);
    const YAML::Node& node = entry.second;
    if (key == "name") {
      spec.name = text_scalar(path, node, "name");
    } else if (key == "base") {
      const std::string base = text_scalar(path, node, "base");
      spec.base = (fs::path(path).parent_path() / base).lexically_normal().string();
      if (!file_exists(spec.base))
        fail(at(path, node) + ": base config " + quote_value(base) + " not found at " + quote_value(spec.base));
      if (!fs::is_regular_file(spec.base))  // a folder, /dev/zero: never a config
        fail(at(path, node) + ": base config " + quote_value(base) + " is not a regular file");
    } else if (key == "output") {
      spec.output = text_scalar(path, node, "output");
    } else if (key == "set") {
      if (!node.IsMap()) fail(at(path, node) + ": set must map config keys to values");
      for (const auto& item : node) {
        const std::string set_key = key_text(path, item.first);
        parser.check_key(set_key, item.first, "set");
        spec.set.push_back(parser.value(set_key, item.second));
      }
    } else if (key == "grid") {
      if (!node.IsMap()) fail(at(path, node) + ": grid must map config keys to lists of values");
      for (const auto& item : node) {
        SweepAxis axis;  // each grid key is an axis of its own
        const std::string grid_key = key_text(path, item.first);
        if (!item.second.IsSequence() || item.second.size() == 0)
          fail(at(path, item.first) + ": grid key " + quote_value(grid_key) + " needs a non-empty list of values");
        parser.check_key(grid_key, item.first, "grid");
        axis.keys.push_back(grid_key);
        for (const auto& v : item.second) axis.points.push_back({parser.value(grid_key, v)});
        spec.axes.push_back(std::move(axis));
      }
    } else if (key == "zip") {
      if (node.IsSequence()) {
        for (const auto& group : node) spec.axes.push_back(parser.axis(group, "zip"));
      } else {
        spec.axes.push_back(parser.axis(node, "zip"));
      }
    } else {
      const std::string near = closest_match(key, kSweepKeys);
      fail(at(path, entry.first) + ": unknown sweep key " + quote_value(key) +
           (near.empty() ? " (expected name, base, output, set, grid or zip)" : " (did you mean '" + near + "'?)"));
    }
  }
  if (spec.base.empty()) fail(path + ": missing 'base' (the run config every run starts from)");
  if (spec.name.empty()) spec.name = fs::path(path).stem().string();
  if (spec.output.empty()) spec.output = "runs/" + spec.name + ".h5";
  size_t runs = 1;
  for (const SweepAxis& axis : spec.axes)
    if (__builtin_mul_overflow(runs, axis.points.size(), &runs) || runs > kMaxRuns)
      fail(path + ": the grid and zip axes make more than " + std::to_string(kMaxRuns) + " runs");
  return spec;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec, const Schema& schema,
                                   const std::vector<std::string>& overrides) {
  Config base = load_config(spec.base, schema);
  bool sets_log_dir = false;
  for (const SweepValue& v : spec.set) {
    assign_written(base, v, spec.file);
    sets_log_dir |= v.key == "log.dir";
  }
  // Each sweep's summary.json files go to a folder of their own unless the sweep says where.
  if (!sets_log_dir)
    base.assign("log.dir", base.get<std::string>("log.dir") + "/" + spec.name, "sweep " + spec.file);

  std::vector<SweepRun> runs;
  std::map<std::string, size_t> names;
  std::vector<size_t> index(spec.axes.size(), 0);
  for (bool more = true; more;) {
    Config config = base;
    std::vector<std::pair<std::string, std::string>> point;
    std::string name;
    for (size_t a = 0; a < spec.axes.size(); ++a) {
      for (const SweepValue& v : spec.axes[a].points[index[a]]) {
        assign_written(config, v, spec.file);
        const std::string text = written_text(v.node);
        point.emplace_back(v.key, text);
        name += (name.empty() ? "" : ",") + v.key + "=" + text;
      }
    }
    if (name.empty()) name = spec.name;
    for (char& c : name)
      if (c == '/') c = '_';  // HDF5 group and folder names cannot hold '/'
    apply_overrides(config, overrides);
    config.assign("log.name", Value(name), "sweep " + spec.file);
    config.check_complete();
    const auto [it, fresh] = names.emplace(name, runs.size());
    if (!fresh)
      fail(spec.file + ": runs " + std::to_string(it->second + 1) + " and " + std::to_string(runs.size() + 1) +
           " are the same point " + quote_value(name) + " (repeated axis values)");
    runs.push_back({name, std::move(point), std::move(config)});
    // Odometer over the axes: the last one turns fastest.
    more = false;
    for (size_t a = spec.axes.size(); a-- > 0;) {
      if (++index[a] < spec.axes[a].points.size()) {
        more = true;
        break;
      }
      index[a] = 0;
    }
  }
  return runs;
}

}  // namespace qzo
