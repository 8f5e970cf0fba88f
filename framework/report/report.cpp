// Groups finished runs into report rows and prints the three tables (see report.h).
#include "framework/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

namespace qzo {

namespace {

// Keys that the row label already shows through method and quantizer, or that are averaged.
bool folded_into_row(const std::string& key) {
  return key == "seed" || key == "method.name" || key == "task.name" || key == "model.dtype" ||
         key.rfind("quant.", 0) == 0;
}

std::string row_label(const LoggedRun& run) {
  std::string label = run.info.method + " / " + run.info.quantizer;
  for (const auto& [key, value] : run.labels.items()) {
    if (folded_into_row(key)) continue;
    const std::string short_key = key.substr(key.rfind('.') + 1);
    label += ", " + short_key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return label;
}

struct Row {
  std::string label;
  std::vector<const LoggedRun*> runs;
};

// Rows and task columns in the order their first run appears in the sweep.
struct Groups {
  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::string>> tasks;  // (task, metric)
};

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
    const std::string label = row_label(*run);
    auto it = row_of.find(label);
    if (it == row_of.end()) {
      it = row_of.emplace(label, g.rows.size()).first;
      g.rows.push_back({label, {}});
    }
    g.rows[it->second].runs.push_back(run);
    if (seen_tasks.insert(run->info.task).second) g.tasks.emplace_back(run->info.task, run->info.metric);
  }
  return g;
}

double number(const nlohmann::json& summary, const char* key, double fallback = NAN) {
  return summary.contains(key) && summary[key].is_number() ? summary[key].get<double>() : fallback;
}

double memory(const LoggedRun& run, const char* key) {
  const auto& s = run.summary;
  return s.contains("memory") && s["memory"].contains(key) ? s["memory"][key].get<double>() : NAN;
}

std::string format(const char* fmt, double v) {
  if (std::isnan(v)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, fmt, v);
  return text;
}

// "87.2 ± 1.0", or "87.2" for a single seed, scaled by `scale`.
std::string cell(const std::vector<double>& values, double scale, const char* fmt = "%.1f") {
  if (values.empty()) return "-";
  const MeanStd m = mean_std(values);
  std::string out = format(fmt, m.mean * scale);
  if (m.n > 1) out += " ± " + format(fmt, m.std * scale);
  return out;
}

double mean_of(const Row& row, const std::function<double(const LoggedRun&)>& f) {
  std::vector<double> v;
  for (const LoggedRun* r : row.runs)
    if (double x = f(*r); !std::isnan(x)) v.push_back(x);
  return v.empty() ? NAN : mean_std(v).mean;
}

// Metrics reported as fractions read better as percentages, as papers print them.
double metric_scale(const std::string& metric) {
  return metric == "accuracy" || metric.rfind("f1", 0) == 0 || metric == "em" ? 100.0 : 1.0;
}

std::string clip_threshold_of(const LoggedRun& run) {
  try {
    const YAML::Node c = YAML::Load(run.info.config_yaml)["method"]["clip_threshold"];
    if (!c || c.IsNull()) return "none";
    return c.Scalar();
  } catch (const YAML::Exception&) {
    return "?";
  }
}

// The q-quantile of |values| (nearest rank).
double abs_quantile(std::vector<double> values, double q) {
  if (values.empty()) return NAN;
  for (double& v : values) v = std::fabs(v);
  const size_t k = static_cast<size_t>(std::ceil(q * values.size())) - (q > 0 ? 1 : 0);
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

void metric_table(std::string& md, const Groups& g) {
  md += "## Final metric (eval set, mean ± std over seeds)\n\n| method / quantizer | seeds |";
  std::string rule = "|---|---|";
  for (const auto& [task, metric] : g.tasks) {
    md += " " + task + " (" + metric + (metric_scale(metric) == 100.0 ? ", %" : "") + ") |";
    rule += "---|";
  }
  md += "\n" + rule + "\n";
  for (const Row& row : g.rows) {
    std::set<uint64_t> seeds;
    for (const LoggedRun* r : row.runs) seeds.insert(r->info.seed);
    md += "| " + row.label + " | " + std::to_string(seeds.size()) + " |";
    for (const auto& [task, metric] : g.tasks) {
      std::vector<double> finals;
      for (const LoggedRun* r : row.runs)
        if (r->info.task == task && !std::isnan(number(r->summary, "final"))) finals.push_back(number(r->summary, "final"));
      md += " " + cell(finals, metric_scale(metric)) + " |";
    }
    md += "\n";
  }
}

// The untrained weights scored on the same eval set: what fine-tuning started from (e.g. how
// much a 2-bit quantizer lost). Only rows of trained runs that recorded it.
void zero_shot_table(std::string& md, const Groups& g) {
  std::string body;
  for (const Row& row : g.rows) {
    std::string line = "| " + row.label + " |";
    bool any = false;
    for (const auto& [task, metric] : g.tasks) {
      std::vector<double> before;
      for (const LoggedRun* r : row.runs)  // runs without steps: their zero-shot is their result
        if (r->info.task == task && number(r->summary, "steps", 0) > 0 && !std::isnan(number(r->summary, "zero_shot")))
          before.push_back(number(r->summary, "zero_shot"));
      any |= !before.empty();
      line += " " + cell(before, metric_scale(metric)) + " |";
    }
    if (any) body += line + "\n";
  }
  if (body.empty()) return;
  md += "\n## Zero-shot of the same weights, before training (mean ± std over seeds)\n\n| method / quantizer |";
  std::string rule = "|---|";
  for (const auto& [task, metric] : g.tasks) {
    md += " " + task + " (" + metric + (metric_scale(metric) == 100.0 ? ", %" : "") + ") |";
    rule += "---|";
  }
  md += "\n" + rule + "\n" + body;
}

void memory_table(std::string& md, const Groups& g) {
  md += "\n## Memory and communication (mean over runs)\n\n"
        "| method / quantizer | weights (MB) | trainable (MB) | optimizer (MB) | peak RSS / rank (MB) | "
        "all-reduced bytes / step | ms / step |\n|---|---|---|---|---|---|---|\n";
  for (const Row& row : g.rows) {
    auto mb = [&](const char* key) { return format("%.2f", mean_of(row, [&](const LoggedRun& r) { return memory(r, key); }) / 1e6); };
    const double steps = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "steps", 0); });
    const double bytes = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "bytes_reduced_per_step"); });
    const double ms = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "ms_per_step"); });
    md += "| " + row.label + " | " + mb("weights_bytes") + " | " + mb("trainable_bytes") + " | " +
          mb("optimizer_bytes") + " | " + mb("peak_rss_bytes") + " | " + (steps > 0 ? format("%.0f", bytes) : "-") +
          " | " + (steps > 0 ? format("%.1f", ms) : "-") + " |\n";
  }
}

void clip_table(std::string& md, const Groups& g) {
  std::string body;
  for (const Row& row : g.rows) {
    std::vector<double> rates, d;
    std::set<std::string> thresholds;
    double skipped = 0;
    for (const LoggedRun* r : row.runs) {
      if (number(r->summary, "steps", 0) <= 0) continue;
      rates.push_back(number(r->summary, "clip_rate", 0));
      skipped += number(r->summary, "skipped_steps", 0);
      thresholds.insert(clip_threshold_of(*r));
      d.insert(d.end(), r->steps.proj_grad_raw.begin(), r->steps.proj_grad_raw.end());
    }
    if (rates.empty()) continue;  // zero-shot and ICL take no steps
    std::string c;
    for (const std::string& t : thresholds) c += (c.empty() ? "" : ", ") + t;
    body += "| " + row.label + " | " + c + " | " + cell(rates, 100.0) + " | " + format("%.3g", abs_quantile(d, 0.5)) +
            " | " + format("%.3g", abs_quantile(d, 0.99)) + " | " + format("%.0f", skipped) + " |\n";
  }
  if (body.empty()) return;
  md += "\n## Directional-derivative clipping\n\n"
        "| method / quantizer | C | clip rate (%) | median abs(d) | p99 abs(d) | skipped steps |\n"
        "|---|---|---|---|---|---|\n" + body;
}

}  // namespace

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd m;
  m.n = values.size();
  if (m.n == 0) return m;
  for (double v : values) m.mean += v;
  m.mean /= static_cast<double>(m.n);
  if (m.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - m.mean) * (v - m.mean);
    m.std = std::sqrt(ss / static_cast<double>(m.n - 1));
  }
  return m;
}

std::string markdown_report(const std::vector<LoggedRun>& runs, const std::string& title) {
  std::vector<const LoggedRun*> finished;
  std::vector<const LoggedRun*> unfinished;
  for (const LoggedRun& r : runs) (r.finished() ? finished : unfinished).push_back(&r);
  std::string md = "# " + title + "\n\n" + std::to_string(finished.size()) + " finished run" +
                   (finished.size() == 1 ? "" : "s");
  if (!unfinished.empty()) {
    md += "; not finished, left out:";
    for (const LoggedRun* r : unfinished) md += " " + r->info.name + " (" + r->status + ")";
  }
  md += ".\n\n";
  if (finished.empty()) return md;
  const Groups g = group_runs(finished);
  metric_table(md, g);
  zero_shot_table(md, g);
  memory_table(md, g);
  clip_table(md, g);
  return md;
}

}  // namespace qzo
