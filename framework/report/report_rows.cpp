#include "framework/report/report_rows.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

namespace qzo {

namespace {

// A swept task.name that is a file (a prompt candidate of a selection sweep) names the row's
// prompt; a plain task name is the column already.
bool is_task_file(const nlohmann::json& value) {
  if (!value.is_string()) return false;
  const std::string v = value.get<std::string>();
  return v.find('/') != std::string::npos || std::filesystem::path(v).extension() == ".yaml";
}

// Keys that the row label already shows through method, quantizer and task, or that are averaged.
bool folded_into_row(const std::string& key, const nlohmann::json& value) {
  if (key == "task.name") return !is_task_file(value);
  return key == "seed" || key == "method.name" || key == "model.dtype" || key.rfind("quant.", 0) == 0;
}

bool tuned_on_dev(const std::string& key) { return key == "optim.lr" || key == "method.n_perturbations"; }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// A swept key that does not act on a run's method stays out of its label (a sweep over
// methods zips every key for every run): LoRA's keys act on qlora only, the optimizer's on the
// backprop methods, the estimator's on the zeroth-order ones.
bool acts_on(const std::string& key, const std::string& method) {
  const bool backprop = method == "qlora" || method == "ft";
  if (starts_with(key, "method.lora_")) return method == "qlora";
  if (key == "method.activation_checkpointing" || key == "optim.optimizer" || key == "optim.max_grad_norm" ||
      key == "optim.beta1" || key == "optim.beta2" || key == "optim.weight_decay")
    return backprop;
  if (key == "method.update" || key == "method.eps" || key == "method.n_perturbations" ||
      key == "method.clip_threshold" || key == "method.scale_floor")
    return !backprop;
  if (key == "method.perturbation") return method == "qzo";
  return true;
}

std::string row_label(const LoggedRun& run, bool with_tuned_keys) {
  std::string label = run.info.method + " / " + run.info.quantizer;
  for (const auto& [key, value] : run.labels.items()) {
    if (folded_into_row(key, value) || (!with_tuned_keys && tuned_on_dev(key)) || !acts_on(key, run.info.method))
      continue;
    if (key == "task.name") {
      label += ", prompt=" + std::filesystem::path(value.get<std::string>()).stem().string();
      continue;
    }
    const std::string short_key = key.substr(key.rfind('.') + 1);
    label += ", " + short_key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return label;
}

}  // namespace

// When a row's first run started (ISO 8601, so text order is time order; "" when not logged).
std::string first_start(const Row& row) {
  std::string first;
  for (const LoggedRun* r : row.runs)
    if (!r->start_time.empty() && (first.empty() || r->start_time < first)) first = r->start_time;
  return first;
}

Groups group_runs(std::vector<const LoggedRun*> runs) {
  std::stable_sort(runs.begin(), runs.end(), [](const LoggedRun* a, const LoggedRun* b) {
    const int ia = a->sweep_index < 0 ? INT32_MAX : a->sweep_index;
    const int ib = b->sweep_index < 0 ? INT32_MAX : b->sweep_index;
    return ia < ib;
  });
  Groups g;
  std::map<std::string, size_t> row_of;
  std::set<std::string> seen_tasks;
  for (const LoggedRun* run : runs) {
    const std::string label = row_label(*run, true);
    auto it = row_of.find(label);
    if (it == row_of.end()) {
      it = row_of.emplace(label, g.rows.size()).first;
      g.rows.push_back({label, row_label(*run, false), {}});
    }
    g.rows[it->second].runs.push_back(run);
    if (seen_tasks.insert(run->info.task).second) g.tasks.emplace_back(run->info.task, run->info.metric);
  }
  // Rows in the order they ran: a log that several sweep files wrote (methods.yaml, then
  // methods-backprop.yaml) lists each file's rows together, each in its file's order.
  std::stable_sort(g.rows.begin(), g.rows.end(),
                   [](const Row& a, const Row& b) { return first_start(a) < first_start(b); });
  return g;
}

size_t seed_count(const Row& row) {
  std::set<uint64_t> seeds;
  for (const LoggedRun* r : row.runs) seeds.insert(r->info.seed);
  return seeds.size();
}

double number(const nlohmann::json& summary, const char* key, double fallback) {
  return summary.contains(key) && summary[key].is_number() ? summary[key].get<double>() : fallback;
}

double memory(const LoggedRun& run, const char* key) {
  const auto& s = run.summary;
  return s.contains("memory") && s["memory"].contains(key) ? s["memory"][key].get<double>() : NAN;
}

double config_number(const LoggedRun& run, const char* section, const char* key, double fallback) {
  try {
    const YAML::Node v = YAML::Load(run.info.config_yaml)[section][key];
    return v && v.IsScalar() ? v.as<double>() : fallback;
  } catch (const YAML::Exception&) {
    return fallback;
  }
}

bool config_flag(const LoggedRun& run, const char* section, const char* key) {
  try {
    const YAML::Node v = YAML::Load(run.info.config_yaml)[section][key];
    return v && v.IsScalar() && v.as<bool>();
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool is_backprop_run(const LoggedRun& run) { return run.info.method == "qlora" || run.info.method == "ft"; }

std::string clip_threshold_of(const LoggedRun& run) {
  try {
    const YAML::Node config = YAML::Load(run.info.config_yaml);
    if (is_backprop_run(run)) {  // backprop clips the gradient's global norm, logged where ZO logs d
      const YAML::Node norm = config["optim"]["max_grad_norm"];
      return norm && norm.as<double>() > 0 ? "norm " + norm.Scalar() : "none";
    }
    const YAML::Node method = config["method"];
    if (method["update"] && method["update"].Scalar() == "signsgd") return "n/a (signsgd)";  // sign(d) ignores C
    const YAML::Node c = method["clip_threshold"];
    if (!c || c.IsNull()) return "none";
    return c.Scalar();
  } catch (const YAML::Exception&) {
    return "?";
  }
}

double mean_of(const Row& row, const std::function<double(const LoggedRun&)>& f) {
  std::vector<double> v;
  for (const LoggedRun* r : row.runs)
    if (double x = f(*r); !std::isnan(x)) v.push_back(x);
  return v.empty() ? NAN : mean_std(v).mean;
}

double abs_quantile(std::vector<double> values, double q) {
  // Skipped steps log a non-finite d: it is no magnitude, and NaN breaks nth_element's order.
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  if (values.empty()) return NAN;
  for (double& v : values) v = std::fabs(v);
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(std::ceil(q * values.size())) - (q > 0 ? 1 : 0));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

// Metrics reported as fractions read better as percentages, as papers print them.
double metric_scale(const std::string& metric) {
  return metric == "accuracy" || metric.rfind("f1", 0) == 0 || metric == "em" ? 100.0 : 1.0;
}

std::string format(const char* fmt, double v) {
  if (std::isnan(v)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, fmt, v);
  return text;
}

std::string interval_text(const Interval& ci, double scale) {
  if (ci.n == 0) return "-";
  std::string out = format("%.1f", ci.mean * scale);
  if (!std::isnan(ci.half_width)) out += " ± " + format("%.1f", ci.half_width * scale);
  return out;
}

}  // namespace qzo
