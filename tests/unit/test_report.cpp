// Specification of `qzo report`: the runs of tests/data/report/runs.json, written through the
// HDF5 log and read back, give exactly the tables in tests/data/report/expected.md.
#include <unistd.h>

#include <cmath>
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
    if (r.contains("batch_size"))
      info.config_yaml += "  n_perturbations: 1\noptim:\n  batch_size: " + std::to_string(r["batch_size"].get<int>()) + "\n";
    log.set_labels(r["labels"]);
    log.set_sweep_index(r["sweep_index"]);
    log.begin(info);
    std::vector<double> d;  // null: a skipped step's non-finite d
    for (const nlohmann::json& v : r["d"]) d.push_back(v.is_null() ? NAN : v.get<double>());
    const std::vector<double> wall = r.value("wall_s", std::vector<double>(d.size(), 0.0));
    for (size_t step = 0; step < d.size(); ++step) {
      StepRecord s;
      s.step = static_cast<int64_t>(step);
      s.proj_grad_raw = d[step];
      s.wall_s = wall[step];
      log.step(s);
    }
    const nlohmann::json curve = r.value("eval_curve", nlohmann::json::object());
    for (const auto& [step, value] : curve.items())
      log.eval({std::stoll(step), "eval_curve", "accuracy", value.get<double>()});
    if (r["status"] == "finished") log.finish(r["summary"], "finished");
  }
}

TEST(Report, FixtureLogGivesTheExpectedTables) {
  TempDir dir("qzo_report");
  const std::string path = dir.file("fixture.h5");
  write_fixture(path);
  EXPECT_EQ(markdown_report(read_run_log(path), "fixture.h5"), read_text_file(data("expected.md")));
}

TEST(Report, Ci95UsesStudentT) {
  const Interval ci = ci95({0.80, 0.84, 0.82});  // std 0.02, n 3: t(0.975, 2) = 4.303
  EXPECT_NEAR(ci.mean, 0.82, 1e-12);
  EXPECT_NEAR(ci.half_width, 4.303 * 0.02 / std::sqrt(3.0), 1e-12);
  EXPECT_TRUE(std::isnan(ci95({0.5}).half_width));
  EXPECT_NEAR(student_t_975(1), 12.706, 1e-9);
  EXPECT_NEAR(student_t_975(1000), 1.980, 1e-9);  // t(120): never narrower than the true 1.962
}

TEST(Report, IntervalsOverlapWhenTheyShareAPoint) {
  Interval a{0.5, 0.25, 3}, b{1.0, 0.25, 3}, c{1.25, 0.25, 3}, single{0.9, NAN, 1};
  EXPECT_TRUE(intervals_overlap(a, b));   // [0.25, 0.75] and [0.75, 1.25]
  EXPECT_FALSE(intervals_overlap(a, c));  // [0.25, 0.75] and [1.0, 1.5]
  EXPECT_TRUE(intervals_overlap(a, single));  // one seed separates nothing
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
