// `qzo report FILE.h5 [--out FILE.md]`: the markdown tables of a run log (report/report.h).
#include <cstdio>
#include <filesystem>

#include "framework/cli/commands.h"
#include "framework/core/paths.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/report/report.h"

namespace qzo::cli {

void add_report_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "markdown tables (metric, memory, clip rate) from an HDF5 run log");
  auto log_path = std::make_shared<std::string>();
  auto out_path = std::make_shared<std::string>();
  cmd->add_option("log", *log_path, "HDF5 run log written by qzo sweep or qzo train --log-h5")->required();
  cmd->add_option("--out", *out_path, "write the markdown here instead of printing it");
  cmd->callback([=] {
    const std::string md =
        markdown_report(read_run_log(*log_path), std::filesystem::path(*log_path).filename().string());
    if (out_path->empty()) {
      std::fputs(md.c_str(), stdout);
    } else {
      write_text_file_atomically(*out_path, md);
    }
  });
}

}  // namespace qzo::cli
