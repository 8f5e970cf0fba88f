#include "framework/train/checkpoint.h"

#include <cmath>

#include "framework/config/load.h"
#include "framework/config/value.h"
#include "framework/core/error.h"
#include "framework/core/paths.h"
#include "framework/io/safetensors.h"

namespace qzo {

namespace {

constexpr const char* kFormat = "qzo-training-checkpoint-1";

void add_tensors(std::vector<TensorView>& views, const std::string& prefix,
                 const std::vector<std::vector<uint8_t>>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    TensorView v;
    v.name = prefix + "." + std::to_string(i);
    v.dtype = DType::U8;
    v.shape = {static_cast<int64_t>(parts[i].size())};
    v.data = parts[i].data();
    v.nbytes = parts[i].size();
    views.push_back(v);
  }
}

std::vector<std::vector<uint8_t>> read_tensors(const SafetensorsReader& reader, const std::string& prefix) {
  std::vector<std::vector<uint8_t>> parts;
  for (size_t i = 0; reader.has(prefix + "." + std::to_string(i)); ++i) {
    const TensorView& v = reader.get(prefix + "." + std::to_string(i));
    const auto* bytes = static_cast<const uint8_t*>(v.data);
    parts.emplace_back(bytes, bytes + v.nbytes);
  }
  return parts;
}

bool trajectory_key(const std::string& key) {
  return key.rfind("log.", 0) != 0 && key != "threads" && key != "dist.backend" && key != "dist.guard_interval";
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingCheckpoint& c) {
  std::vector<TensorView> views;
  add_tensors(views, "state", c.state);
  add_tensors(views, "best", c.best_state);
  auto text = [](double v) { return format_double(v); };
  write_safetensors(path, views,
                    {{"format", kFormat},
                     {"next_step", std::to_string(c.next_step)},
                     {"best_dev", text(c.best_dev)},
                     {"best_step", std::to_string(c.best_step)},
                     {"clipped", std::to_string(c.clipped)},
                     {"skipped", std::to_string(c.skipped)},
                     {"perturbations", std::to_string(c.perturbations)},
                     {"tokens", std::to_string(c.tokens)},
                     {"loss_ema", text(c.loss_ema)},
                     {"train_seconds", text(c.train_seconds)},
                     {"config", c.config_yaml}});
}

std::optional<TrainingCheckpoint> load_checkpoint(const std::string& path) {
  if (!file_exists(path)) return std::nullopt;
  const SafetensorsReader reader = SafetensorsReader::open(path);
  const auto& meta = reader.metadata();
  auto field = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) fail(path + ": not a qzo training checkpoint (metadata '" + key + "' missing)");
    return it->second;
  };
  if (field("format") != kFormat) fail(path + ": checkpoint format '" + field("format") + "', expected " + kFormat);
  TrainingCheckpoint c;
  try {
    c.next_step = std::stoll(field("next_step"));
    c.best_dev = std::stod(field("best_dev"));
    c.best_step = std::stoll(field("best_step"));
    c.clipped = std::stoll(field("clipped"));
    c.skipped = std::stoll(field("skipped"));
    c.perturbations = std::stoll(field("perturbations"));
    c.tokens = std::stoll(field("tokens"));
    c.loss_ema = std::stod(field("loss_ema"));
    if (meta.count("train_seconds")) c.train_seconds = std::stod(meta.at("train_seconds"));
  } catch (const std::logic_error&) {
    fail(path + ": checkpoint metadata holds a malformed number");
  }
  c.config_yaml = field("config");
  c.state = read_tensors(reader, "state");
  c.best_state = read_tensors(reader, "best");
  return c;
}

std::string first_trajectory_difference(const std::string& stored_yaml, const std::string& where, const Config& config) {
  const Config saved = load_config_text(stored_yaml, where, config.schema());
  for (const KeySpec& key : config.schema().keys()) {
    if (!trajectory_key(key.path)) continue;
    const std::string was = format_value(saved.value(key.path)), now = format_value(config.value(key.path));
    if (was != now) return key.path + " = " + was + " there, " + now + " here";
  }
  return "";
}

void require_resumable(const std::string& path, const TrainingCheckpoint& c, const Config& config) {
  const Config saved = load_config_text(c.config_yaml, path, config.schema());
  for (const KeySpec& key : config.schema().keys()) {
    if (!trajectory_key(key.path)) continue;
    const std::string was = format_value(saved.value(key.path)), now = format_value(config.value(key.path));
    if (was != now)
      fail(path + ": checkpoint was written with " + key.path + " = " + was + ", this run has " + now +
           " (pass --overwrite to replace that run, or choose another log.name)");
  }
}

}  // namespace qzo
