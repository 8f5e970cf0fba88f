// `qzo report`: paper-style markdown from a run log — the final metric with rows per
// method / quantizer (plus any other swept key) and columns per task (dev and final), mean
// ± 95% CI over seeds with overlapping intervals marked; zero-shot; memory by component;
// accuracy against compute; clipping and each run's |d| percentiles. Unfinished runs are
// listed, never averaged in.
#pragma once
#include <string>
#include <vector>

#include "framework/log/hdf5_log_reader.h"
#include "framework/report/stats.h"

namespace qzo {

// `title` heads the page (the log's file name). Metrics in [0, 1] are shown ×100.
std::string markdown_report(const std::vector<LoggedRun>& runs, const std::string& title);

}  // namespace qzo
