// Specification of `qzo report`: the runs of tests/data/report/runs.json, written through the
// HDF5 log and read back, give exactly the tables in tests/data/report/expected.md.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "framework/core/paths.h"
#include "framework/log/hdf5_log_reader.h"
#include "framework/log/hdf5_run_log.h"
#include "framework/report/report.h"
#include "tests/support/temp_dir.h"

namespace qzo {
namespace {

namespace fs = std::filesystem;

std::string data(const std::string& name) { return std::string(QZO_TEST_DATA) + "/report/" + name; }

// Writes every run of the fixture as a training run would: begin, steps, finish (or not).
void write_fixture(const std::string& path) {
  const nlohmann::json fixture = nlohmann::json::parse(read_text_file(data("runs.json")));
  for (const nlohmann::json& r : fixture["runs"]) {
    Hdf5RunLog log(path, 4);
    RunInfo info;
    info.name = r["name"];
    info.method = r["method"];
    info.quantizer = r["quantizer"];
    info.task = r["task"];
    info.metric = r["metric"];
    info.seed = r["seed"];
    info.config_yaml = "method:\n  clip_threshold: " + r["clip_threshold"].get<std::string>() + "\n";
    log.set_labels(r["labels"]);
    log.set_sweep_index(r["sweep_index"]);
    log.begin(info);
    int64_t step = 0;
    for (double d : r["d"].get<std::vector<double>>()) {
      StepRecord s;
      s.step = step++;
      s.proj_grad_raw = d;
      log.step(s);
    }
    if (r["status"] == "finished") log.finish(r["summary"], "finished");
  }
}

TEST(Report, FixtureLogGivesTheExpectedTables) {
  TempDir dir("qzo_report");
  const std::string path = dir.file("fixture.h5");
  write_fixture(path);
  EXPECT_EQ(markdown_report(read_run_log(path), "fixture.h5"), read_text_file(data("expected.md")));
}

TEST(Report, MeanStdUsesTheSampleDeviation) {
  const MeanStd m = mean_std({0.80, 0.84, 0.82});
  EXPECT_NEAR(m.mean, 0.82, 1e-12);
  EXPECT_NEAR(m.std, 0.02, 1e-12);
  EXPECT_EQ(m.n, 3u);
  EXPECT_EQ(mean_std({5.0}).std, 0.0);
  EXPECT_EQ(mean_std({}).n, 0u);
}

TEST(Report, LogWithoutFinishedRunsSaysSo) {
  LoggedRun killed;
  killed.info.name = "seed=0";
  killed.status = "running";
  EXPECT_EQ(markdown_report({killed}, "x.h5"), "# x.h5\n\n0 finished runs; not finished, left out: seed=0 (running).\n\n");
}

}  // namespace
}  // namespace qzo
