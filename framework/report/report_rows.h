// The report's rows (runs that differ only by seed) and the cell helpers its tables share.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "framework/log/hdf5_log_reader.h"
#include "framework/report/stats.h"

namespace qzo {

struct Row {
  std::string label;  // "<method> / <quantizer>" plus every swept key but the seed
  // The label without the keys a sweep tunes on dev (optim.lr, method.n_perturbations): rows
  // of one group are the candidates one of which dev chooses.
  std::string selection_group;
  std::vector<const LoggedRun*> runs;
};

// Rows and task columns in the order their first run appears in the sweep.
struct Groups {
  std::vector<Row> rows;
  std::vector<std::pair<std::string, std::string>> tasks;  // (task, metric)
};
Groups group_runs(std::vector<const LoggedRun*> runs);

size_t seed_count(const Row& row);
double number(const nlohmann::json& summary, const char* key, double fallback = NAN);
double memory(const LoggedRun& run, const char* key);                 // summary.memory[key]
double config_number(const LoggedRun& run, const char* section, const char* key, double fallback);
// "100", "none", "n/a (signsgd)"; "norm 1.0" for a backprop run (its gradient-norm clipping).
std::string clip_threshold_of(const LoggedRun& run);
bool is_backprop_run(const LoggedRun& run);  // qlora, ft
bool config_flag(const LoggedRun& run, const char* section, const char* key);  // false when absent
double mean_of(const Row& row, const std::function<double(const LoggedRun&)>& f);  // NaN-skipping
double abs_quantile(std::vector<double> values, double q);            // nearest rank of finite |values|
double metric_scale(const std::string& metric);                       // 100 for fractions
std::string format(const char* fmt, double v);                        // "-" for NaN
std::string interval_text(const Interval& ci, double scale);          // "85.5 ± 2.0", or "85.5"

}  // namespace qzo
