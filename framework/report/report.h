// `qzo report`: paper-style markdown from a run log — the final metric with rows per
// method / quantizer (plus any other swept key) and columns per task, mean ± std over seeds;
// a memory table; a clip-rate table. Unfinished runs are listed, never averaged in.
#pragma once
#include <string>
#include <vector>

#include "framework/log/hdf5_log_reader.h"

namespace qzo {

// `title` heads the page (the log's file name). Metrics in [0, 1] are shown ×100.
std::string markdown_report(const std::vector<LoggedRun>& runs, const std::string& title);

// Sample mean and standard deviation (n − 1; 0 for a single value).
struct MeanStd {
  double mean = 0, std = 0;
  size_t n = 0;
};
MeanStd mean_std(const std::vector<double>& values);

}  // namespace qzo
