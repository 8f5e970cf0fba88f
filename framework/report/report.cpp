// Groups finished runs into report rows and prints the tables (see report.h).
#include "framework/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <set>


#include "framework/report/report_rows.h"

namespace qzo {

namespace {

// A cell of a compared column: mean ± 95% CI; the best row in bold; ≈ where the row's
// interval overlaps the best row's (a conservative reading, not a test).
struct Column {
  std::vector<Interval> cells;  // one per row; n = 0 where the row has no value
  size_t best = SIZE_MAX;
};

Column compare(const Groups& g, const std::function<std::vector<double>(const Row&)>& values) {
  Column c;
  for (const Row& row : g.rows) {
    c.cells.push_back(ci95(values(row)));
    const Interval& x = c.cells.back();
    if (x.n > 0 && (c.best == SIZE_MAX || x.mean > c.cells[c.best].mean)) c.best = c.cells.size() - 1;
  }
  return c;
}

std::string compared_cell(const Column& c, size_t row, double scale) {
  const Interval& x = c.cells[row];
  if (x.n == 0) return "-";
  std::string text = interval_text(x, scale);
  if (row == c.best) return "**" + text + "**";
  if (c.best != SIZE_MAX && intervals_overlap(x, c.cells[c.best])) text += " ≈";
  return text;
}

std::vector<double> summary_values(const Row& row, const std::string& task, const char* key) {
  std::vector<double> v;
  for (const LoggedRun* r : row.runs)
    if (r->info.task == task && !std::isnan(number(r->summary, key))) v.push_back(number(r->summary, key));
  return v;
}

// The split a task's final scores come from: "eval", or "dev" for a selection sweep.
std::string final_split(const Groups& g, const std::string& task) {
  std::set<std::string> splits;
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs)
      if (r->info.task == task) splits.insert(r->summary.value("final_split", std::string("eval")));
  return splits.size() == 1 ? *splits.begin() : "eval or dev";
}

// Per selection group with more than one row: the row with the best mean best-dev score on
// `task`, the one the sweep's rule chooses; SIZE_MAX for rows of single-row groups.
std::vector<bool> chosen_on_dev(const Groups& g, const std::string& task) {
  std::map<std::string, std::pair<size_t, double>> best;  // group -> (row, mean best dev)
  std::map<std::string, int> rows_in;
  for (size_t i = 0; i < g.rows.size(); ++i) {
    const std::vector<double> dev = summary_values(g.rows[i], task, "best_dev");
    if (dev.empty()) continue;
    const double mean = mean_std(dev).mean;
    ++rows_in[g.rows[i].selection_group];
    auto it = best.find(g.rows[i].selection_group);
    if (it == best.end() || mean > it->second.second) best[g.rows[i].selection_group] = {i, mean};
  }
  std::vector<bool> chosen(g.rows.size(), false);
  for (const auto& [group, row] : best)
    if (rows_in[group] > 1) chosen[row.first] = true;
  return chosen;
}

bool any_trained(const Groups& g) {
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs)
      if (number(r->summary, "steps", 0) > 0) return true;
  return false;
}

void metric_table(std::string& md, const Groups& g) {
  const bool trained = any_trained(g);
  md += "## Final metric (mean ± 95% CI over seeds)\n\n";
  if (trained)
    md += "best dev: each run's best dev score (what selects its checkpoint, and what settings are chosen on). ";
  md += "**Bold**: the best row of a column; ≈: the row's 95% interval overlaps the best row's (a conservative "
        "reading, not a test). The intervals cover seed-to-seed variation only: every seed is scored on the "
        "same examples, so the sampling error of the scored examples themselves (±3.5 points at 500 examples "
        "and 80% accuracy) is not in them.";
  std::vector<std::vector<bool>> chosen;
  bool any_choice = false;
  for (const auto& task : g.tasks) {
    chosen.push_back(chosen_on_dev(g, task.first));
    for (bool c : chosen.back()) any_choice |= c;
  }
  if (any_choice)
    md += " ✓: the setting chosen on dev, the best mean best-dev score among the rows that differ only in "
          "lr or perturbations per step; read the eval column at the ✓ rows only.";
  md += "\n\n| method / quantizer | seeds |";
  std::string rule = "|---|---|";
  std::vector<Column> columns;
  std::vector<double> scales;
  for (const auto& [task, metric] : g.tasks) {
    const std::string unit = metric + (metric_scale(metric) == 100.0 ? ", %" : "");
    const std::string& t = task;
    if (trained) {
      md += " " + task + " best dev (" + unit + ") |";
      rule += "---|";
      columns.push_back(compare(g, [&](const Row& row) { return summary_values(row, t, "best_dev"); }));
      scales.push_back(metric_scale(metric));
    }
    // A trained run scored on dev is its best-dev checkpoint rescored on the dev it was chosen on.
    const std::string split = final_split(g, task);
    md += " " + task + " " + (split == "dev" && trained ? "dev, rescored after selection on it" : split) + " (" + unit +
          ") |";
    rule += "---|";
    columns.push_back(compare(g, [&](const Row& row) { return summary_values(row, t, "final"); }));
    scales.push_back(metric_scale(metric));
  }
  md += "\n" + rule + "\n";
  for (size_t i = 0; i < g.rows.size(); ++i) {
    std::string mark;
    for (const std::vector<bool>& c : chosen) mark += c[i] ? " ✓" : "";
    md += "| " + g.rows[i].label + mark + " | " + std::to_string(seed_count(g.rows[i])) + " |";
    for (size_t c = 0; c < columns.size(); ++c) md += " " + compared_cell(columns[c], i, scales[c]) + " |";
    md += "\n";
  }
}

// The untrained weights scored on the same split: what fine-tuning started from (e.g. how
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
      line += " " + (before.empty() ? std::string("-") : interval_text(ci95(before), metric_scale(metric))) + " |";
    }
    if (any) body += line + "\n";
  }
  if (body.empty()) return;
  md += "\n## Zero-shot of the same weights, before training (mean ± 95% CI)\n\n| method / quantizer |";
  std::string rule = "|---|";
  for (const auto& [task, metric] : g.tasks) {
    md += " " + task + " (" + metric + (metric_scale(metric) == 100.0 ? ", %" : "") + ") |";
    rule += "---|";
  }
  md += "\n" + rule + "\n" + body;
}

// A run's own peak RSS (reset at its start), NaN for logs from before the reset existed,
// whose figure was the process's high-water mark.
double run_peak_rss(const LoggedRun& r) {
  return memory(r, "rss_reset") == 1 ? memory(r, "peak_rss_bytes") : NAN;
}

bool any_run_peak_rss(const Groups& g) {
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs)
      if (std::isfinite(run_peak_rss(*r))) return true;
  return false;
}

void memory_table(std::string& md, const Groups& g) {
  static const char* kPeaks[] = {"peak_weights_bytes",     "peak_trainable_bytes",  "peak_optimizer_bytes",
                                 "peak_gradients_bytes",   "peak_activations_bytes", "peak_workspace_bytes",
                                 "peak_total_bytes"};
  const bool rss = any_run_peak_rss(g);
  md += "\n## Memory, communication and step time (mean over runs)\n\n"
        "Memory: each run's allocator peaks by component on its backend (rank 0), counted from the end of "
        "loading (evaluation included)." +
        std::string(rss ? " Peak RSS: the run's own resident peak (rank 0), reset at its start; - for runs "
                          "logged before the reset existed." : "") +
        " ms / step: training steps only (no evaluation, checkpoint or logging).\n\n"
        "| method / quantizer | weights (MB) | trainable (MB) | optimizer (MB) | gradients (MB) | activations (MB) | "
        "workspace (MB) | total (MB) |" + std::string(rss ? " peak RSS (MB) |" : "") +
        " all-reduced bytes / step | ms / step |\n|---|---|---|---|---|---|---|---|" + (rss ? "---|" : "") +
        "---|---|\n";
  for (const Row& row : g.rows) {
    md += "| " + row.label + " |";
    for (const char* key : kPeaks)
      md += " " + format("%.2f", mean_of(row, [&](const LoggedRun& r) { return memory(r, key); }) / 1e6) + " |";
    if (rss) md += " " + format("%.1f", mean_of(row, run_peak_rss) / 1e6) + " |";
    const double steps = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "steps", 0); });
    const double bytes = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "bytes_reduced_per_step"); });
    const double ms = mean_of(row, [](const LoggedRun& r) { return number(r.summary, "ms_per_step"); });
    md += " " + (steps > 0 ? format("%.0f", bytes) : "-") + " | " + (steps > 0 ? format("%.1f", ms) : "-") + " |\n";
  }
}

// Whether a backprop baseline (qlora, ft) is among the rows: its tables then say how they read it.
bool any_backprop(const Groups& g) {
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs)
      if (is_backprop_run(*r)) return true;
  return false;
}

// Example-forward passes per training step: 2 per perturbation per example of the global batch
// (ZO); a backprop step counts its forward and, by the usual estimate, 2 forwards for the
// backward, plus the recomputed forward under activation checkpointing.
double forwards_per_step(const LoggedRun& run) {
  const double batch = config_number(run, "optim", "batch_size", 0);
  if (is_backprop_run(run)) return (config_flag(run, "method", "activation_checkpointing") ? 4.0 : 3.0) * batch;
  const double n = config_number(run, "method", "n_perturbations", 1);
  return 2.0 * n * batch;
}

// Training seconds after `steps` steps: the last logged row before that step.
double train_seconds_at(const LoggedRun& run, int64_t steps) {
  double t = 0;
  for (size_t i = 0; i < run.steps.size(); ++i)
    if (run.steps.step[i] < steps) t = run.steps.wall_s[i];
  return t;
}

// The runs of `row` on `task`; with several tasks in a log, the label names the task.
std::vector<const LoggedRun*> runs_on(const Row& row, const std::string& task) {
  std::vector<const LoggedRun*> out;
  for (const LoggedRun* r : row.runs)
    if (r->info.task == task) out.push_back(r);
  return out;
}

std::string label_on(const Groups& g, const Row& row, const std::string& task) {
  return g.tasks.size() > 1 ? row.label + " (" + task + ")" : row.label;
}

bool any_eval_curve(const Groups& g) {
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs)
      for (const EvalRecord& e : r->evals)
        if (e.split == "eval_curve") return true;
  return false;
}

// One row's compute-matched lines on one task: the eval_curve points, or for an untrained
// row its final eval score at zero training compute.
std::string compute_lines(const std::string& label, const std::vector<const LoggedRun*>& runs) {
  std::map<int64_t, std::vector<const LoggedRun*>> at_step;
  std::map<int64_t, std::vector<double>> scores;
  for (const LoggedRun* r : runs)
    for (const EvalRecord& e : r->evals)
      if (e.split == "eval_curve") at_step[e.step].push_back(r), scores[e.step].push_back(e.value);
  for (const LoggedRun* r : runs)
    if (number(r->summary, "steps", 0) == 0 && r->summary.value("final_split", std::string("eval")) == "eval")
      at_step[0].push_back(r), scores[0].push_back(number(r->summary, "final"));
  std::map<const LoggedRun*, double> forwards_of;  // the run's config, parsed once
  for (const LoggedRun* r : runs) forwards_of[r] = forwards_per_step(*r);
  std::string lines;
  for (const auto& [step, values] : scores) {
    std::vector<double> forwards, seconds;
    for (const LoggedRun* r : at_step[step]) {
      forwards.push_back(forwards_of.at(r) * double(step));
      seconds.push_back(train_seconds_at(*r, step));
    }
    lines += "| " + label + " | " + std::to_string(step) + " | " + format("%.1f", mean_std(forwards).mean / 1e3) +
             " | " + format("%.1f", mean_std(seconds).mean) + " | " +
             interval_text(ci95(values), metric_scale(runs.front()->info.metric)) + " |\n";
  }
  return lines;
}

// Accuracy against compute: the eval split scored along training (eval.curve: logged, never
// used to select anything), against example-forward passes and training seconds.
void compute_table(std::string& md, const Groups& g) {
  if (!any_eval_curve(g)) return;
  std::string body;
  for (const Row& row : g.rows)
    for (const auto& task : g.tasks) {
      const std::vector<const LoggedRun*> runs = runs_on(row, task.first);
      if (!runs.empty()) body += compute_lines(label_on(g, row, task.first), runs);
    }
  md += "\n## Compute-matched: eval score along training (mean ± 95% CI)\n\n"
        "Forward passes: example-forwards of training (2 × perturbations × batch per step" +
        std::string(any_backprop(g) ? "; a backprop step counts 3 × batch: its forward and its backward as two" : "") +
        "); seconds: training steps only. The curve is the current state at each step, not the dev-selected checkpoint; untrained "
        "rows are their final score at zero training compute.\n\n"
        "| method / quantizer | step | forward passes (k) | train seconds | eval score |\n|---|---|---|---|---|\n" +
        body;
}

std::string clip_line(const std::string& label, const std::vector<const LoggedRun*>& runs) {
  std::vector<double> rates, d;
  std::set<std::string> thresholds;
  double skipped = 0;
  for (const LoggedRun* r : runs) {
    if (number(r->summary, "steps", 0) <= 0) continue;
    rates.push_back(number(r->summary, "clip_rate", 0));
    skipped += number(r->summary, "skipped_steps", 0);
    thresholds.insert(clip_threshold_of(*r));
    d.insert(d.end(), r->steps.proj_grad_raw.begin(), r->steps.proj_grad_raw.end());
  }
  if (rates.empty()) return "";  // zero-shot and ICL take no steps
  std::string c;
  for (const std::string& t : thresholds) c += (c.empty() ? "" : ", ") + t;
  return "| " + label + " | " + c + " | " + interval_text(ci95(rates), 100.0) + " | " +
         format("%.3g", abs_quantile(d, 0.5)) + " | " + format("%.3g", abs_quantile(d, 0.9)) + " | " +
         format("%.3g", abs_quantile(d, 0.99)) + " | " + format("%.0f", skipped) + " |\n";
}

void clip_table(std::string& md, const Groups& g) {
  std::string body;
  for (const Row& row : g.rows)
    for (const auto& task : g.tasks) {
      const std::vector<const LoggedRun*> runs = runs_on(row, task.first);
      if (!runs.empty()) body += clip_line(label_on(g, row, task.first), runs);
    }
  if (body.empty()) return;
  md += "\n## Directional-derivative clipping (seeds pooled)\n\n";
  if (any_backprop(g))
    md += "For qlora and ft rows, d is the gradient's global norm and C its clipping threshold "
          "(optim.max_grad_norm).\n\n";
  md += "| method / quantizer | C | clip rate (%) | median abs(d) | p90 abs(d) | p99 abs(d) | skipped steps |\n"
        "|---|---|---|---|---|---|---|\n" + body;
}

// Each run's projected gradients, so that a threshold C reads against the |d| the model
// really produces, beside what the run reached.
void per_run_d_table(std::string& md, const Groups& g) {
  std::string body;
  for (const Row& row : g.rows)
    for (const LoggedRun* r : row.runs) {
      if (number(r->summary, "steps", 0) <= 0) continue;
      const std::vector<double>& d = r->steps.proj_grad_raw;
      const double scale = metric_scale(r->info.metric), best_dev = number(r->summary, "best_dev");
      const std::string dev = std::isnan(best_dev) ? "-"
                                                   : format("%.1f", scale * best_dev) + " (" +
                                                         format("%.0f", number(r->summary, "best_step")) + ")";
      body += "| " + r->info.name + " | " + clip_threshold_of(*r) + " | " +
              format("%.1f", 100.0 * number(r->summary, "clip_rate", 0)) + " | " + format("%.3g", abs_quantile(d, 0.5)) +
              " | " + format("%.3g", abs_quantile(d, 0.9)) + " | " + format("%.3g", abs_quantile(d, 0.99)) + " | " +
              format("%.3g", abs_quantile(d, 1.0)) + " | " + dev + " | " + format("%.1f", scale * number(r->summary, "final")) +
              " |\n";
    }
  if (body.empty()) return;
  md += "\n## Projected gradients per run\n\n"
        "| run | C | clip rate (%) | median abs(d) | p90 abs(d) | p99 abs(d) | max abs(d) | best dev (step) | final |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + body;
}

}  // namespace

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
  compute_table(md, g);
  clip_table(md, g);
  per_run_d_table(md, g);
  return md;
}

}  // namespace qzo
